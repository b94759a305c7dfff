// store.js: written in the next commit
