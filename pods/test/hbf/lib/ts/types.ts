// Types only: every import of this module is `import type`, so it is never loaded.
export interface Priced {
  price: number;
}

export type Html = string;
