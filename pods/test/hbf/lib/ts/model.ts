// The TypeScript the runtime must understand (types are checked by the editor,
// not here): interfaces, generics, type-only imports, an enum, `satisfies`, a
// class with parameter properties, a namespace.

import type { Priced } from './types.ts';
import { formatPrice } from '/static/shared/price.ts';

export enum Size {
  Small = 1,
  Large = 3,
}

export interface Drink extends Priced {
  readonly name: string;
  size: Size;
}

export class Order<T extends Priced> {
  private readonly items: T[] = [];

  constructor(public readonly id: string, private discount: number = 0) {}

  add(item: T): this {
    this.items.push(item);
    return this;
  }

  total(): number {
    const sum = this.items.reduce((s, i) => s + i.price, 0);
    return Math.round(sum * (1 - this.discount) * 100) / 100;
  }

  count(): number {
    return this.items.length;
  }
}

export const menu = {
  tea: { name: 'tea', size: Size.Small, price: 2.5 },
  coffee: { name: 'coffee', size: Size.Large, price: 3.5 },
} satisfies Record<string, Drink>;

export namespace Currency {
  export const code = 'EUR';
  export function format(amount: number): string {
    return formatPrice(amount, code);
  }
}

export function first<T>(items: readonly T[]): T | undefined {
  return items[0];
}
