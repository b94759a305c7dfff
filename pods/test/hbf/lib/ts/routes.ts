// The TypeScript routes, shared by both handler styles: hbf/server.js (HBF
// style) registers them on its router, hbf/fetch-style.ts answers them from
// `fetch`. Each returns what to send; the caller sends it its own way.

import { Currency, Order, Size, first, menu, type Drink } from './model';
import { menuPage } from './page.tsx';
import { fail } from './fail.ts';

export interface Reply {
  status: number;
  type: string;
  body: string;
}

const json = (value: unknown): Reply => ({
  status: 200,
  type: 'application/json',
  body: JSON.stringify(value),
});
const html = (body: string): Reply => ({ status: 200, type: 'text/html; charset=utf-8', body });

type Route = (query: URLSearchParams) => Reply | Promise<Reply>;

export const tsRoutes: Record<string, Route> = {
  '/t/ts': () => {
    const order = new Order<Drink>('o-1', 0.1).add(menu.tea).add(menu.coffee);
    return json({
      id: order.id,
      items: order.count(),
      total: Currency.format(order.total()),
      size: Size.Large,
      sizeName: Size[Size.Large],
      first: first([menu.tea, menu.coffee])?.name,
      fields: Object.keys(order),
    });
  },
  '/t/tsx': (q) => html(menuPage(q.get('title') ?? 'Menu')),
  // Imported when asked for: preact comes through the import map, and a broken
  // map must break only the routes that use it (tests/js.rs).
  '/t/tsx-preact': async (q) => {
    const { preactPage } = await import('./preact-page.tsx');
    return html(preactPage(q.get('title') ?? 'Menu'));
  },
  '/t/ts-throw': () => fail({ code: 7, text: 'on purpose' }),
};
