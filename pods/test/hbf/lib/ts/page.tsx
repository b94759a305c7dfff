// Server-side rendering with the built-in JSX runtime (hbf:jsx, the default).
import { renderToString } from 'hbf:jsx';
import type { Drink } from './model.ts';
import { Currency, menu } from './model';

function Item({ drink }: { drink: Drink }) {
  return (
    <li class="drink" data-size={drink.size}>
      {drink.name}: {Currency.format(drink.price)}
    </li>
  );
}

export function Menu({ title, drinks }: { title: string; drinks: Drink[] }) {
  return (
    <>
      <h1>{title}</h1>
      <ul>
        {drinks.map((d) => <Item drink={d} />)}
      </ul>
      <hr />
    </>
  );
}

export function menuPage(title: string): string {
  return '<!doctype html>' + renderToString(<Menu title={title} drinks={Object.values(menu)} />);
}
