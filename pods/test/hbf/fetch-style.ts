// The TypeScript routes in the fetch handler style: a test packs a pod whose
// server module (hbf/server.ts) is this file. See lib/ts/routes.ts.
import { tsRoutes, type Reply } from './lib/ts/routes.ts';

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const route = tsRoutes[url.pathname];
    if (!route) {
      return Response.json({ error: 'Not Found', path: url.pathname }, { status: 404 });
    }
    const reply: Reply = await route(url.searchParams);
    return new Response(reply.body, {
      status: reply.status,
      headers: { 'content-type': reply.type, 'x-powered-by': 'HBF' },
    });
  },
};
