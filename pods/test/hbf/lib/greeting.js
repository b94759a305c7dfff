// Reached through the bare specifier "greeting" mapped in static/importmap.json.
export const greet = (name) => `Hello, ${name}!`
