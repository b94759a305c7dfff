// Loaded on demand by the /esm-test route with a dynamic `import()`.
export const message = 'Hello, ESM!'
export const value = 42

export default { message, value }
