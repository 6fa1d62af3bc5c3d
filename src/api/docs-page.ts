import { html, raw } from 'hono/html';

type Doc = {
  info: { title: string; version: string; description?: string };
  paths?: Record<string, Record<string, { summary?: string; description?: string; parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: { type?: string; enum?: unknown[] } }[]; responses?: Record<string, { description?: string; content?: Record<string, unknown> }> }>>;
};

/**
 * A self-contained page that renders the OpenAPI document: every route with its parameters and
 * responses. No script, no CDN: it works offline and behind strict CSPs.
 */
export function renderDocsPage(doc: Doc) {
  const routes = Object.entries(doc.paths ?? {}).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${doc.info.title} ${doc.info.version}: API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:0 .25rem;border-radius:3px}
section{border-top:1px solid #ddd;padding:.5rem 0}
.m{display:inline-block;min-width:3.5rem;font-weight:bold;text-transform:uppercase;color:#0a5}
table{border-collapse:collapse;margin:.25rem 0}td,th{text-align:left;padding:.1rem .6rem .1rem 0;vertical-align:top}
</style>
</head>
<body>
<h1>${doc.info.title} <small>${doc.info.version}</small></h1>
<p>${doc.info.description ?? ''}</p>
<p>The machine-readable document: <a href="/openapi.json"><code>/openapi.json</code></a>.</p>
<nav><ul>${routes.map((r) => html`<li><a href="#${r.method}-${r.path}"><span class="m">${r.method}</span> <code>${r.path}</code></a></li>`)}</ul></nav>
${routes.map(
  ({ path, method, op }) => html`<section id="${method}-${path}">
<h2><span class="m">${method}</span> <code>${path}</code></h2>
<p>${op.summary ?? ''}</p>${op.description ? html`<p>${op.description}</p>` : ''}
${
  op.parameters?.length
    ? html`<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>${op.parameters.map(
        (p) => html`<tr><td><code>${p.name}</code>${p.required ? ' (required)' : ''}</td><td>${p.in}</td><td>${p.schema?.enum ? p.schema.enum.join(' | ') : (p.schema?.type ?? '')}</td><td>${p.description ?? ''}</td></tr>`,
      )}</table>`
    : ''
}
<table><tr><th>status</th><th>content</th><th></th></tr>${Object.entries(op.responses ?? {}).map(
  ([status, r]) => html`<tr><td>${status}</td><td>${raw(Object.keys(r.content ?? {}).map((t) => `<code>${t.replace(/[<>&]/g, '')}</code>`).join(' '))}</td><td>${r.description ?? ''}</td></tr>`,
)}</table>
</section>`,
)}
</body>
</html>`;
}
