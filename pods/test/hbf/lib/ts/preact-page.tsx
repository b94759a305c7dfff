/** @jsxImportSource preact */
// The same page with preact: JSX from `preact/jsx-runtime` (this file's pragma;
// hbf/tsconfig.json could say it for the whole pod), rendered by
// preact-render-to-string, both through static/importmap.json.
import { renderToString } from 'preact-render-to-string';
import { useState } from 'preact/hooks';
import type { ComponentChildren } from './preact-types.ts';
import { Currency, menu, type Drink } from './model.ts';

function Counter({ start }: { start: number }) {
  const [count] = useState(start);
  return <output>{count}</output>;
}

function Card({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <section>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function preactPage(title: string): string {
  const drinks: Drink[] = Object.values(menu);
  return renderToString(
    <Card title={title}>
      <ul>
        {drinks.map((d) => (
          <li key={d.name}>{d.name}: {Currency.format(d.price)}</li>
        ))}
      </ul>
      <Counter start={3} />
    </Card>,
  );
}
