// sw.js: written in the next commit
