// tree.js: written in the next commit
