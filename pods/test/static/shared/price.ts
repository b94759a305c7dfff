// Shared by the server (hbf/lib/ts/model.ts imports it) and the browser (a
// module script gets it as JavaScript: `Sec-Fetch-Dest: script`).
export type Currency = 'EUR' | 'USD';

export function formatPrice(amount: number, currency: Currency = 'EUR'): string {
  return `${amount.toFixed(2)} ${currency}`;
}
