// Imported statically at the top of hbf/server.js; used by /esm-test-static.
export const greeting = { message: 'Hello, Static ESM!', value: 42 }
