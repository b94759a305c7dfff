// main.js: written in the next commit
