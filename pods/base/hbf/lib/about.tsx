// A page in TSX: TypeScript with JSX, rendered on the server by hbf:jsx (the
// default JSX runtime, nothing to install). Edit it live in the editor
// (`hbf --dev`): the next request runs the new version.
import { renderToString } from 'hbf:jsx';

interface Piece {
  name: string;
  role: string;
  href?: string;
}

const pieces: Piece[] = [
  { name: 'hyper', role: 'serves HTTP/1.1', href: 'https://hyper.rs' },
  { name: 'QuickJS', role: 'runs the pod, modules in JavaScript or TypeScript' },
  { name: 'SQLite', role: 'stores the pod: versioned files, its own tables' },
  { name: 'oxc', role: 'turns .ts, .tsx and .jsx into JavaScript', href: 'https://oxc.rs' },
];

function PieceItem({ piece }: { piece: Piece }) {
  const name = piece.href ? <a href={piece.href}>{piece.name}</a> : <strong>{piece.name}</strong>;
  return (
    <li>
      {name} <span class="description">{piece.role}</span>
    </li>
  );
}

function Layout({ title, children }: { title: string; children?: unknown }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <link rel="icon" href="/static/favicon.ico" />
        <link rel="stylesheet" href="/static/style.css" />
      </head>
      <body>
        <main class="page">{children}</main>
      </body>
    </html>
  );
}

export function aboutPage(): string {
  return (
    '<!doctype html>\n' +
    renderToString(
      <Layout title="About HBF">
        <header>
          <h1>About HBF</h1>
          <p class="lead">This page is hbf/lib/about.tsx: TypeScript and JSX, rendered by hbf:jsx.</p>
        </header>
        <section>
          <h2>Inside</h2>
          <ul class="routes">
            {pieces.map((piece) => <PieceItem piece={piece} />)}
          </ul>
        </section>
        <p><a href="/">Home</a></p>
      </Layout>,
    )
  );
}
