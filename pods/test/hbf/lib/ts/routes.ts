// The TypeScript routes, shared by both handler styles: hbf/server.js (HBF
// style) registers them on its router, hbf/fetch-style.ts answers them from
// `fetch`. Each returns what to send; the caller sends it its own way.

import { Currency, Order, Size, first, menu, type Drink } from './model';
import { menuPage } from './page.tsx';
import { preactPage } from './preact-page.tsx';
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

export const tsRoutes: Record<string, (query: URLSearchParams) => Reply> = {
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
  '/t/tsx-preact': (q) => html(preactPage(q.get('title') ?? 'Menu')),
  '/t/ts-throw': () => fail({ code: 7, text: 'on purpose' }),
};
