// panels.js: written in the next commit
