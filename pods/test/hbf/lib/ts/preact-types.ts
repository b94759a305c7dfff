// What the preact page needs of preact's types (a pod without node_modules has
// no preact .d.ts to import them from; they vanish in JavaScript anyway).
export type ComponentChildren = unknown;
