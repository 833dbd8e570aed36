// Sign in with the OAuth2 password flow (POST /api/v1/auth/token).
import { api } from "../api.js";
import { t } from "../i18n.js";
import { saveSession } from "../session.js";

export function mount(container, { onLoggedIn }) {
  container.innerHTML = `
    <form class="login panel" id="login-form" autocomplete="on">
      <h1>${t("login.title")}</h1>
      <label>${t("login.username")}<input name="username" id="username" required autocomplete="username" /></label>
      <label>${t("login.password")}<input name="password" id="password" type="password" required autocomplete="current-password" /></label>
      <button class="primary" type="submit" id="login-submit">${t("login.submit")}</button>
      <div class="error" id="login-error" role="alert"></div>
    </form>`;
  const form = container.querySelector("#login-form");
  const error = container.querySelector("#login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const data = new FormData(form);
    try {
      const answer = await api.login(data.get("username"), data.get("password"));
      onLoggedIn(saveSession(answer));
    } catch (exc) {
      if (exc.status === 429) {
        error.textContent = t("login.limited", { seconds: exc.retryAfter ?? "?" });
      } else if (exc.status === 401) {
        error.textContent = t("login.failed");
      } else {
        error.textContent = t("app.error", { detail: exc.message });
      }
    }
  });
  container.querySelector("#username").focus();
  return () => {};
}
