// merge3.js: written in the next commit
