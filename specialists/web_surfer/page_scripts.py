"""JavaScript run inside pages: collecting interactive elements, hit-testing, set-of-marks.

Kept as Python strings so the package needs no data files. Each script is one arrow
function that Playwright's `evaluate` calls with a single argument. The collector walks
the main document, open shadow roots and same-origin iframes in one pass, tags every
element it reports with `data-ws-id="<generation>:<number>"` (so an id from an older
observation can never match a newer element) and returns plain JSON.
"""

from __future__ import annotations

# Shared helpers, prepended to the scripts that need them.
_HELPERS = r"""
const INTERACTIVE = 'a[href],button,input:not([type=hidden]),select,textarea,summary,' +
  '[role=button],[role=link],[role=checkbox],[role=radio],[role=tab],[role=menuitem],' +
  '[role=option],[role=switch],[role=textbox],[role=combobox],[role=searchbox],' +
  '[role=slider],[role=treeitem],[contenteditable=""],[contenteditable=true],[onclick],' +
  '[tabindex]:not([tabindex="-1"])';
const INPUT_ROLES = {button: 'button', submit: 'button', reset: 'button', image: 'button',
  checkbox: 'checkbox', radio: 'radio', range: 'slider', search: 'searchbox', file: 'file upload',
  email: 'textbox', tel: 'textbox', url: 'textbox', text: 'textbox', password: 'textbox',
  number: 'spinbutton'};
const SKIP_TEXT = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'IFRAME', 'FRAME']);
const clip = (s, n) => { s = (s || '').replace(/\s+/g, ' ').trim();
  return s.length > n ? s.slice(0, n - 1) + '…' : s; };
const roleOf = (el) => {
  const explicit = el.getAttribute('role'); if (explicit) return explicit.split(' ')[0];
  const tag = el.tagName.toLowerCase();
  if (tag === 'a') return 'link';
  if (tag === 'button' || tag === 'summary') return 'button';
  if (tag === 'select') return el.multiple || el.size > 1 ? 'listbox' : 'combobox';
  if (tag === 'textarea') return 'textbox';
  if (tag === 'input') return INPUT_ROLES[(el.type || 'text').toLowerCase()] || 'textbox';
  if (el.isContentEditable) return 'textbox';
  return 'generic';
};
const labelText = (el) => {
  const doc = el.ownerDocument, root = el.getRootNode();
  const by = el.getAttribute('aria-labelledby');
  if (by) { const t = by.split(/\s+/).map(i => (root.getElementById ? root.getElementById(i)
      : doc.getElementById(i))).filter(Boolean).map(e => e.textContent).join(' ');
    if (t.trim()) return t; }
  if (el.labels && el.labels.length) return Array.from(el.labels).map((l) => {
    const copy = l.cloneNode(true);  // a label wrapping its control: not the control's text
    copy.querySelectorAll('select,textarea,input,button').forEach((c) => c.remove());
    return copy.textContent; }).join(' ');
  return '';
};
const nameOf = (el) => {
  const aria = el.getAttribute('aria-label'); if (aria && aria.trim()) return clip(aria, 80);
  const label = labelText(el); if (label.trim()) return clip(label, 80);
  const tag = el.tagName.toLowerCase(), type = (el.type || '').toLowerCase();
  if (tag === 'input' && ['submit', 'button', 'reset'].includes(type))
    return clip(el.value || type, 80);
  if (tag === 'input' && type === 'image') return clip(el.alt || 'submit', 80);
  const text = clip(el.innerText || el.textContent, 80); if (text) return text;
  const img = el.querySelector && el.querySelector('img[alt]');
  if (img && img.alt) return clip(img.alt, 80);
  return clip(el.getAttribute('title') || el.getAttribute('placeholder') ||
    el.getAttribute('name') || '', 80);
};
const valueOf = (el) => {
  const tag = el.tagName.toLowerCase(), type = (el.type || '').toLowerCase();
  if (tag === 'select') return clip(Array.from(el.selectedOptions).map(o => o.text).join(', '), 60);
  if (tag === 'textarea') return clip(el.value, 60);
  if (tag === 'input' && !['submit', 'button', 'reset', 'image', 'checkbox', 'radio']
      .includes(type)) {
    if (type === 'password') return el.value ? '•'.repeat(Math.min(el.value.length, 8)) : '';
    if (type === 'file') return clip(Array.from(el.files || []).map(f => f.name).join(', '), 60);
    return clip(el.value, 60);
  }
  if (el.isContentEditable) return clip(el.innerText, 60);
  return '';
};
const statesOf = (el) => {
  const s = [], tag = el.tagName.toLowerCase(), a = (n) => el.getAttribute(n);
  if (el.disabled || a('aria-disabled') === 'true') s.push('disabled');
  if (el.checked || a('aria-checked') === 'true') s.push('checked');
  if (a('aria-selected') === 'true') s.push('selected');
  if (a('aria-expanded') === 'true') s.push('expanded');
  if (a('aria-expanded') === 'false') s.push('collapsed');
  if (el.required) s.push('required');
  if (el.readOnly) s.push('readonly');
  if (tag === 'a' && el.target === '_blank') s.push('opens new tab');
  if (tag === 'a' && el.hasAttribute('download')) s.push('download');
  if (el.ownerDocument.activeElement === el) s.push('focused');
  const type = (el.type || '').toLowerCase();
  if (el.form && ((tag === 'button' && (type === 'submit' || !el.getAttribute('type'))) ||
      (tag === 'input' && (type === 'submit' || type === 'image')))) s.push('submits form');
  return s;
};
const deepHit = (doc, x, y) => {
  let e = doc.elementFromPoint(x, y);
  while (e && e.shadowRoot) { const inner = e.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === e) break; e = inner; }
  return e;
};
const composedContains = (outer, node) => {
  for (let n = node; n; n = n.parentNode || n.host) if (n === outer) return true;
  return false;
};
const describe = (el) => {
  let d = el.tagName.toLowerCase();
  if (el.id) d += '#' + el.id;
  const cls = (typeof el.className === 'string' ? el.className : '').trim().split(/\s+/)
    .filter(Boolean).slice(0, 2);
  if (cls.length) d += '.' + cls.join('.');
  const role = el.getAttribute('role'); if (role) d += `[role=${role}]`;
  return clip(d, 120);
};
// The element that covers `el` at its centre, described, or null if `el` is on top.
const coverOf = (el) => {
  const r = el.getBoundingClientRect(); const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const doc = el.ownerDocument; const hit = deepHit(doc, x, y);
  if (!hit || composedContains(el, hit) || composedContains(hit, el)) return null;
  let top = hit;  // climb to the outermost positioned ancestor: the overlay itself
  for (let n = hit; n && n.nodeType === 1; n = n.parentElement || (n.getRootNode() || {}).host) {
    const pos = getComputedStyle(n).position; if (pos === 'fixed' || pos === 'sticky') { top = n; break; }
    if (pos === 'absolute') top = n;
  }
  return {element: describe(top), text: clip(top.innerText, 120)};
};
"""

COLLECT = (
    "(opts) => {"
    + _HELPERS
    + r"""
  const gen = opts.generation, maxElements = opts.maxElements, maxText = opts.maxText;
  const vw = window.innerWidth, vh = window.innerHeight;
  const elements = []; let above = 0, below = 0, seen = new Set();
  const lines = []; let textChars = 0, lastTop = null, lastRight = 0, lastParent = null,
    lastSpace = false;
  const frames = [];  // [document, offsetX, offsetY, clip rect in top coordinates, label]
  frames.push([document, 0, 0, {left: 0, top: 0, right: vw, bottom: vh}, 'main']);
  const roots = (doc) => {  // the document and every open shadow root inside it
    const out = [doc]; const stack = [doc];
    while (stack.length) { const r = stack.pop();
      for (const el of r.querySelectorAll('*')) if (el.shadowRoot) {
        out.push(el.shadowRoot); stack.push(el.shadowRoot); } }
    return out;
  };
  const visibleBox = (el, ox, oy, clipRect) => {
    const r = el.getBoundingClientRect(); if (r.width < 1 || r.height < 1) return null;
    const box = {left: r.left + ox, top: r.top + oy, right: r.right + ox, bottom: r.bottom + oy};
    box.inside = box.bottom > clipRect.top && box.top < clipRect.bottom &&
      box.right > clipRect.left && box.left < clipRect.right;
    // Style is only worth its cost for elements inside the viewport.
    if (box.inside && !el.checkVisibility({opacityProperty: true, visibilityProperty: true})) return null;
    return box;
  };
  let counter = 0;
  for (let f = 0; f < frames.length; f++) {
    const [doc, ox, oy, clipRect, label] = frames[f];
    for (const root of roots(doc)) {
      for (const iframe of root.querySelectorAll('iframe,frame')) {
        let inner = null; try { inner = iframe.contentDocument; } catch (e) { inner = null; }
        if (!inner || !inner.documentElement) continue;
        const r = iframe.getBoundingClientRect();
        const ix = r.left + ox + iframe.clientLeft, iy = r.top + oy + iframe.clientTop;
        frames.push([inner, ix, iy, {left: Math.max(clipRect.left, ix), top: Math.max(clipRect.top, iy),
          right: Math.min(clipRect.right, ix + iframe.clientWidth),
          bottom: Math.min(clipRect.bottom, iy + iframe.clientHeight)},
          'iframe ' + clip(iframe.title || iframe.name || iframe.getAttribute('src') || '', 60)]);
      }
      for (const el of root.querySelectorAll(INTERACTIVE)) {
        if (seen.has(el)) continue; seen.add(el);
        const box = visibleBox(el, ox, oy, clipRect); if (!box) continue;
        if (!box.inside) { if (box.bottom <= clipRect.top) above++; else below++; continue; }
        if (elements.length >= maxElements) { below++; continue; }
        const id = ++counter; el.setAttribute('data-ws-id', gen + ':' + id);
        const cover = coverOf(el);
        elements.push({id, role: roleOf(el), name: nameOf(el), value: valueOf(el),
          states: statesOf(el), tag: el.tagName.toLowerCase(), frame: label,
          shadow: el.getRootNode() !== doc, covered_by: cover ? cover.element : null,
          box: [Math.round(box.left), Math.round(box.top), Math.round(box.right - box.left),
                Math.round(box.bottom - box.top)]});
      }
    }
    // Visible text of this document, in the composed tree (shadow roots and slots
    // included): text nodes whose box meets the clip rectangle.
    if (!doc.body || textChars >= maxText) continue;
    const range = doc.createRange();
    const stack = [doc.body];
    while (stack.length && textChars < maxText) {
      const n = stack.pop();
      if (n.nodeType === 3) {
        if (!n.nodeValue.trim()) continue;
        range.selectNodeContents(n); const r = range.getBoundingClientRect();
        if (r.height < 1 || r.bottom + oy <= clipRect.top || r.top + oy >= clipRect.bottom ||
            r.right + ox <= clipRect.left || r.left + ox >= clipRect.right) continue;
        const parent = n.parentElement;
        if (parent && parent !== lastParent &&
            !parent.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
        lastParent = parent;
        // One text node can be megabytes: only the part that fits the budget is kept.
        const raw = n.nodeValue.slice(0, maxText - textChars + 2).replace(/\s+/g, ' ');
        const t = raw.trim().slice(0, Math.max(1, maxText - textChars));
        const top = Math.round(r.top + oy), left = r.left + ox;
        if (lastTop !== null && Math.abs(top - lastTop) < 6 && lines.length) {
          // Same visual line: keep words apart, but not pieces of one word split by markup.
          const gap = Math.abs(left - lastRight) > 2 || /^\s/.test(raw) || lastSpace;
          lines[lines.length - 1] += (gap ? ' ' : '') + t;
        } else lines.push(t);
        lastTop = top; lastRight = r.right + ox; lastSpace = /\s$/.test(raw);
        textChars += t.length + 1;
        continue;
      }
      let kids = n.childNodes;
      if (n.nodeType === 1) {
        if (SKIP_TEXT.has(n.tagName)) continue;
        const r = n.getBoundingClientRect();
        if (r.height > 0 && (r.bottom + oy < clipRect.top || r.top + oy > clipRect.bottom)) continue;
        if (n.shadowRoot) kids = n.shadowRoot.childNodes;
        else if (n.tagName === 'SLOT' && n.assignedNodes().length) kids = n.assignedNodes();
      }
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
    }
  }
  // A document that has not got its root element yet still gets observed.
  const se = document.scrollingElement || document.documentElement ||
    {scrollLeft: 0, scrollTop: 0, scrollHeight: 0};
  return {url: location.href.slice(0, 4000), title: (document.title || '').slice(0, 1000),
    elements, above, below,
    text: lines.join('\n'), truncated: textChars >= maxText, ready: document.readyState,
    scroll: {x: Math.round(se.scrollLeft), y: Math.round(se.scrollTop),
             height: Math.round(se.scrollHeight), viewport: vh, width: vw},
    frames: frames.length - 1};
}"""
)

# Hit-test one element (after it was scrolled into view): what covers its centre?
HIT_TEST = "(el) => {" + _HELPERS + "\n  return coverOf(el);\n}"

# Re-find an element by what the model was told about it, after a re-render replaced it:
# same role, name and tag; of several, the one nearest to where it was.
REFIND = (
    "(want) => {"
    + _HELPERS
    + r"""
  let best = null, bestDistance = Infinity;
  const walk = (root) => {
    for (const el of root.querySelectorAll(INTERACTIVE)) {
      if (roleOf(el) !== want.role || nameOf(el) !== want.name || el.tagName.toLowerCase() !== want.tag) continue;
      const r = el.getBoundingClientRect();
      const d = Math.hypot(r.left + r.width / 2 - want.x, r.top + r.height / 2 - want.y);
      if (d < bestDistance) { best = el; bestDistance = d; }
    }
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  if (!best) return false;
  best.setAttribute('data-ws-id', want.key);
  return true;
}"""
)

# Form details for an approval request: where it goes and what it sends (no secrets).
FORM_SUMMARY = r"""(el) => {
  const form = el.form || el.closest('form'); if (!form) return null;
  const fields = [];
  for (const f of form.elements) {
    if (!f.name || f.disabled || ['submit', 'button', 'reset'].includes((f.type || '').toLowerCase())) continue;
    if ((f.type === 'checkbox' || f.type === 'radio') && !f.checked) continue;
    const v = f.type === 'password' ? '(password)' : String(f.value).slice(0, 60);
    fields.push(f.name + '=' + v);
  }
  return {action: form.action, method: (form.method || 'get').toUpperCase(), fields};
}"""

# Find text on the page, also across element boundaries (`json.dumps(obj` spans several
# elements); scroll the n-th match into view, select it, and return context for each.
FIND_TEXT = r"""(opts) => {
  const nodes = [], starts = []; let all = '';
  if (!document.body) return {count: 0, contexts: []};
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = n.parentElement; if (!p || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(p.tagName)) continue;
    nodes.push(n); starts.push(all.length); all += n.nodeValue;
  }
  const pattern = opts.text.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
  const re = new RegExp(pattern, 'gi'), found = [];
  for (let m = re.exec(all); m; m = re.exec(all)) { found.push([m.index, m.index + m[0].length]);
    if (!m[0].length) re.lastIndex++; }
  if (!found.length) return {count: 0, contexts: []};
  const locate = (offset) => {  // text node and offset inside it for a position in `all`
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (starts[mid] <= offset) lo = mid; else hi = mid - 1; }
    return [nodes[lo], offset - starts[lo]];
  };
  const index = Math.min(Math.max(opts.occurrence, 1), found.length) - 1;
  const range = document.createRange();
  range.setStart(...locate(found[index][0])); range.setEnd(...locate(found[index][1]));
  const r = range.getBoundingClientRect();
  window.scrollBy(0, r.top - window.innerHeight / 3);
  const sel = window.getSelection(); if (sel) { sel.removeAllRanges(); sel.addRange(range); }
  // The text around each hit (not the start of its block: a block can be megabytes).
  const contexts = found.slice(0, opts.maxContexts).map(([a, b]) => {
    const from = Math.max(0, a - opts.before), to = Math.min(all.length, b + opts.after);
    return {text: all.slice(from, to).replace(/\s+/g, ' ').trim(),
            cutBefore: from > 0, cutAfter: to < all.length};
  });
  return {count: found.length, index: index + 1, contexts};
}"""

# Draw numbered boxes over the given elements (in a closed shadow root, above everything).
DRAW_MARKS = r"""(marks) => {
  const host = document.createElement('div');
  host.setAttribute('data-ws-marks', '');
  host.style.cssText = 'position:fixed;inset:0;pointer-events:none;z-index:2147483647;';
  const root = host.attachShadow({mode: 'closed'});
  const colors = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#008080', '#9a6324'];
  for (const m of marks) {
    const [x, y, w, h] = m.box, c = colors[m.id % colors.length];
    const box = document.createElement('div');
    box.style.cssText = `position:fixed;left:${x}px;top:${y}px;width:${w}px;height:${h}px;` +
      `outline:2px solid ${c};box-sizing:border-box;`;
    const tag = document.createElement('div');
    tag.textContent = String(m.id);
    tag.style.cssText = `position:fixed;left:${Math.max(0, x - 2)}px;top:${Math.max(0, y - 14)}px;` +
      `background:${c};color:#fff;font:bold 11px/13px sans-serif;padding:0 3px;border-radius:2px;`;
    root.append(box, tag);
  }
  document.documentElement.appendChild(host);
}"""

REMOVE_MARKS = "() => document.querySelectorAll('[data-ws-marks]').forEach((e) => e.remove())"

# Resolve after the DOM has been quiet for `quiet` ms, or after `limit` ms at most.
DOM_QUIET = r"""([quiet, limit]) => new Promise((resolve) => {
  let timer = null; const start = performance.now();
  const done = (settled) => { obs.disconnect(); clearTimeout(timer); clearTimeout(cap); resolve(settled); };
  const obs = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(() => done(true), quiet); });
  obs.observe(document, {subtree: true, childList: true, characterData: true, attributes: false});
  timer = setTimeout(() => done(true), quiet);
  const cap = setTimeout(() => done(false), Math.max(0, limit - (performance.now() - start)));
})"""

# Scroll the page (or, if only an inner box scrolls, the largest such box).
SCROLL = r"""([direction, pages]) => {
  const se = document.scrollingElement || document.documentElement;
  let target = se;
  if (se.scrollHeight <= window.innerHeight + 2) {
    let best = null, area = 0;
    for (const el of document.querySelectorAll('*')) {
      if (el.scrollHeight <= el.clientHeight + 2) continue;
      const oy = getComputedStyle(el).overflowY; if (oy !== 'auto' && oy !== 'scroll') continue;
      const a = el.clientWidth * el.clientHeight; if (a > area) { best = el; area = a; }
    }
    if (best) target = best;
  }
  const view = target === se ? window.innerHeight : target.clientHeight;
  const before = target.scrollTop;
  if (direction === 'top') target.scrollTop = 0;
  else if (direction === 'bottom') target.scrollTop = target.scrollHeight;
  else target.scrollTop = before + (direction === 'up' ? -1 : 1) * Math.round(view * pages);
  return {before: Math.round(before), after: Math.round(target.scrollTop),
          height: Math.round(target.scrollHeight), view, inner: target !== se};
}"""

# The URL a link points to (resolved), for download-by-element.
LINK_URL = "(el) => el.href || el.src || el.getAttribute('data-href') || ''"

# Whether pressing Enter in the focused element would submit a form.
FOCUS_IN_FORM = """() => { const el = document.activeElement;
  return !!(el && el.form && el.tagName !== 'TEXTAREA'); }"""

# The options of a <select>, to tell the model what it can choose.
SELECT_OPTIONS = (
    "(el) => el.tagName === 'SELECT' ? Array.from(el.options).map((o) => o.text.trim()) : null"
)

# Whether an element is a password field (its value must never be echoed or logged).
IS_PASSWORD = "(el) => (el.type || '').toLowerCase() === 'password'"

# The page as HTML in the composed tree, for read_page and answer_question: open shadow
# roots in place of their hosts' light DOM (slots filled with what is assigned to them),
# same-origin frames' documents after their <iframe>; what cannot be included (frames
# of another origin) is counted. Iterative (a deep DOM must not overflow the stack) and
# capped at `limit` characters.
COMPOSED_HTML = r"""(limit) => {
  const VOID = new Set(['AREA', 'BASE', 'BR', 'COL', 'EMBED', 'HR', 'IMG', 'INPUT', 'LINK',
    'META', 'SOURCE', 'TRACK', 'WBR']);
  const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE']);
  const esc = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const attr = (t) => esc(t).replace(/"/g, '&quot;');
  const counts = {shadowRoots: 0, frames: 0, crossOriginFrames: 0};
  const out = []; let size = 0, truncated = false;
  const emit = (s) => { out.push(s); size += s.length; };
  const children = (n) => {
    if (n.shadowRoot) { counts.shadowRoots++; return n.shadowRoot.childNodes; }
    if (n.tagName === 'SLOT') { const given = n.assignedNodes(); if (given.length) return given; }
    return n.childNodes;
  };
  const stack = [document.documentElement];
  while (stack.length) {
    const n = stack.pop();
    if (size > limit) { truncated = true; break; }
    if (typeof n === 'string') { emit(n); continue; }
    if (n.nodeType === 3) { emit(esc(n.nodeValue.slice(0, limit - size + 1))); continue; }
    if (n.nodeType !== 1 || SKIP.has(n.tagName)) continue;
    const name = n.tagName.toLowerCase();
    let open = '<' + name;
    for (const a of n.attributes) open += ' ' + a.name + '="' + attr(a.value.slice(0, 2000)) + '"';
    emit(open + '>');
    if (VOID.has(n.tagName)) continue;
    const after = ['</' + name + '>'];
    if (n.tagName === 'IFRAME' || n.tagName === 'FRAME') {
      let doc = null; try { doc = n.contentDocument; } catch (e) { doc = null; }
      if (doc && doc.body) {
        counts.frames++;
        after.push('<section data-ws-frame="">', doc.body, '</section>');
      } else if (n.getAttribute('src') && !n.getAttribute('src').startsWith('about:')) {
        counts.crossOriginFrames++;
      }
      for (let i = after.length - 1; i >= 0; i--) stack.push(after[i]);
      continue;
    }
    stack.push(after[0]);
    const kids = children(n);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
  }
  return {html: out.join(''), truncated, ...counts};
}"""
