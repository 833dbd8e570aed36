// The page shell: routes (hash based, so the API serves one static index.html), the header
// with the language toggle, and sign-out.
import { language, setLanguage, t, toggleLanguage } from "./i18n.js";
import { clearSession, loadSession } from "./session.js";
import { escapeHtml } from "./format.js";
import * as loginPage from "./pages/login.js";
import * as regulatorPage from "./pages/regulator.js";
import * as sitePage from "./pages/site.js";
import * as alertPage from "./pages/alert.js";
import * as stationPage from "./pages/station.js";

const view = document.getElementById("view");
let unmountCurrent = null;

function homeFor(session) {
  return session.role === "operator" ? `#/site/${encodeURIComponent(session.scope)}` : "#/region";
}

function parseRoute(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  return { name: parts[0] || "", args: parts.slice(1) };
}

function renderHeader(session) {
  document.title = t("app.title");
  document.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  document.getElementById("lang-toggle").textContent = t("app.lang.toggle");
  const logout = document.getElementById("logout");
  logout.textContent = t("app.logout");
  logout.hidden = !session;
  document.getElementById("whoami").innerHTML = session
    ? `${escapeHtml(session.username)} · ${escapeHtml(t(`role.${session.role}`))}`
    : "";
}

function render() {
  if (unmountCurrent) {
    unmountCurrent();
    unmountCurrent = null;
  }
  const session = loadSession();
  renderHeader(session);
  const route = parseRoute(location.hash);
  view.replaceChildren();
  if (!session || route.name === "login") {
    if (session && route.name === "login") {
      location.hash = homeFor(session);
      return;
    }
    if (route.name !== "login") {
      location.hash = "#/login";
      return;
    }
    unmountCurrent = loginPage.mount(view, {
      onLoggedIn: (s) => {
        location.hash = homeFor(s);
      },
    });
    return;
  }
  if (route.name === "site" && route.args[0]) {
    const back = session.role === "operator" ? null : "#/region";
    unmountCurrent = sitePage.mount(view, { site: route.args[0], back });
  } else if (route.name === "station" && route.args[0]) {
    const back = session.role === "operator" ? null : "#/region";
    unmountCurrent = stationPage.mount(view, { site: route.args[0], back });
  } else if (route.name === "alert" && /^\d+$/.test(route.args[0] ?? "")) {
    unmountCurrent = alertPage.mount(view, { id: Number(route.args[0]) });
  } else if (route.name === "region" && session.role !== "operator") {
    unmountCurrent = regulatorPage.mount(view, { session, region: route.args[0] });
  } else {
    location.hash = homeFor(session);
  }
}

document.getElementById("lang-toggle").addEventListener("click", () => {
  toggleLanguage();
  render();
});
document.getElementById("logout").addEventListener("click", () => {
  clearSession();
  location.hash = "#/login";
});
window.addEventListener("hashchange", render);
setLanguage(language());
render();
