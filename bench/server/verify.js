import { sampleChecks } from './fixtures.js';

/** Throws rather than time a server that does not answer allow AND deny as the policy says. */
export async function verify(server, route) {
  const wrong = [];
  for (const { check, allow } of sampleChecks()) {
    const response = await fetch(`${server.url}${route.path}`, {
      method: 'POST',
      headers: { 'content-type': route.type },
      body: route.encode(check),
    });
    const body = await response.text();
    if (response.status !== 200 || route.allowed(body) !== allow) wrong.push({ check, allow, body });
  }
  if (wrong.length > 0) {
    throw new Error(
      `${server.name} ${route.path}: ${wrong.length} of ${sampleChecks().length} sample checks answered wrong, e.g. ${JSON.stringify(wrong.slice(0, 3))} (sessions are rebuilt from the users file only when every authenticator proves usernames)`,
    );
  }
}
