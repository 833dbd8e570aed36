// The signed-in user: token, role and scope as answered by POST /api/v1/auth/token.
// Kept in sessionStorage so that closing the browser signs out.
const STORAGE_KEY = "ew.session";

export function loadSession() {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const session = JSON.parse(raw);
    if (session.expiresAt && Date.now() > session.expiresAt) {
      clearSession();
      return null;
    }
    return session;
  } catch {
    return null;
  }
}

export function saveSession(tokenAnswer) {
  const session = {
    token: tokenAnswer.access_token,
    username: tokenAnswer.username,
    role: tokenAnswer.role,
    scope: tokenAnswer.scope ?? null,
    expiresAt: tokenAnswer.expires_in ? Date.now() + tokenAnswer.expires_in * 1000 : null,
  };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  return session;
}

export function clearSession() {
  sessionStorage.removeItem(STORAGE_KEY);
}

// A regulator's scope is a comma-separated list of division code prefixes.
export function regionsOf(session) {
  if (!session?.scope) return [];
  return session.scope.split(",").map((s) => s.trim()).filter(Boolean);
}
