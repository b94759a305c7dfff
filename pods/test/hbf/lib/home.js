// The HTML home page: lists the pod's routes, styled by /static/style.css.

const entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
export const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => entities[c])

// A path a browser can follow for a pattern: `:id` -> 42, `*` -> example.
const examplePath = (pattern) =>
  pattern.replace(/:[^/]+/g, '42').replace(/\*$/, 'example')

const routeItem = ({ method, pattern, description }) => {
  const label = method === '*' ? 'ANY' : method
  const path = escapeHtml(pattern)
  const target = label === 'GET' || label === 'ANY'
    ? `<a href="${escapeHtml(examplePath(pattern))}"><code>${path}</code></a>`
    : `<code>${path}</code>`
  return `      <li><span class="method method-${label.toLowerCase()}">${label}</span> ${target}` +
    (description ? ` <span class="description">${escapeHtml(description)}</span>` : '') +
    '</li>'
}

export const renderHome = ({ title, intro, routes }) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)}</title>
  <link rel="icon" href="/static/favicon.ico">
  <link rel="stylesheet" href="/static/style.css">
</head>
<body>
  <main class="page">
    <header>
      <h1>${escapeHtml(title)}</h1>
      <p class="lead">${escapeHtml(intro)}</p>
    </header>
    <section>
      <h2>Routes</h2>
      <ul class="routes">
${routes.map(routeItem).join('\n')}
      </ul>
    </section>
    <section>
      <h2>Static files</h2>
      <ul class="routes">
        <li><span class="method method-get">GET</span> <a href="/static/style.css"><code>/static/style.css</code></a></li>
        <li><span class="method method-get">GET</span> <a href="/static/favicon.ico"><code>/static/favicon.ico</code></a></li>
        <li><span class="method method-get">GET</span> <a href="/static/importmap.json"><code>/static/importmap.json</code></a></li>
        <li><span class="method method-get">GET</span> <a href="/health"><code>/health</code></a> <span class="description">served by the runtime, no JavaScript</span></li>
      </ul>
    </section>
    <footer>Served by HBF: JavaScript on QuickJS, files and data in SQLite.</footer>
  </main>
</body>
</html>
`
