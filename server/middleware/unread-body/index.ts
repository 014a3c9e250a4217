/**
 * A request whose body the app did not read (a route that takes none, or a refusal that came
 * first: 401, 403, 404) is answered with `Connection: close`, so the client opens a new
 * connection for its next request instead of reusing this one (RFC 9112 section 9.6: a server
 * that does not read the whole message closes the connection after the response).
 *
 * Why: the body limit (server/middleware/body-limit, hono's `bodyLimit`) opens the request's body
 * stream to check it (`c.req.raw.body`). When nothing read that stream and the body was large
 * (over about 100 KB), @hono/node-server's drain of the rest never finished, and 500 ms later it
 * destroyed the socket, by then carrying the client's next request: a POST after the next request
 * on that keep-alive connection hung and was reset ("other side closed"). Found by the fuzz test
 * (test/fuzz.test.ts). Requests without a body, and bodies the app read (every route that parses
 * one), keep the connection.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env.ts';

/** Whether the request announces a body: a non-zero `Content-Length`, or `Transfer-Encoding`. */
function hasBody(headers: Headers): boolean {
  const length = headers.get('content-length');
  return (length !== null && length.trim() !== '0') || headers.has('transfer-encoding');
}

/**
 * The middleware (mounted first in server/app.ts): after the route answered, sets
 * `Connection: close` when the request had a body nobody read. Not for responses written straight
 * to the socket (HTTP+SSE), which have no headers left. Throws nothing.
 */
export function closeOnUnreadBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (c.res.headers.has('x-hono-already-sent')) return;
    if (hasBody(c.req.raw.headers) && !c.req.raw.bodyUsed) c.res.headers.set('Connection', 'close');
  };
}
