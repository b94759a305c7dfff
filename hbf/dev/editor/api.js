// api.js: written in the next commit
