// store-worker.js: written in the next commit
