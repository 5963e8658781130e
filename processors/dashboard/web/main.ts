/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The dashboard page: routes in the URL hash (`#/trends?from=…&to=…&location=…`), a filter bar,
 * one view at a time, loading / empty / error states, and live refresh: server-sent events when
 * the server offers them, short polling otherwise.
 */
import { destroyCharts } from './charts.js';
import { escapeHtml } from './format.js';
import { type Params, type View, type ViewName, views } from './views.js';

interface Meta {
  readonly locations: readonly { locationId: string; name: string }[];
  readonly firstDate: string | null;
  readonly lastDate: string | null;
  readonly snapshotDates: readonly string[];
  readonly live: boolean;
}

const POLL_MS = 5000;
const OPS_REFRESH_MS = 5000;

const byId = (id: string): HTMLElement => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element;
};

let meta: Meta | null = null;
let renders = 0;
let inFlight: AbortController | null = null;

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

function route(): { name: ViewName; params: Params } {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const name = (path in views ? path : 'trends') as ViewName;
  const search = new URLSearchParams(query);
  const last = meta?.lastDate ?? new Date().toISOString().slice(0, 10);
  const to = search.get('to') || last;
  return {
    name,
    params: {
      from: search.get('from') || addDays(to, -29),
      to,
      location: search.get('location') ?? '',
      loyalty: search.get('loyalty') || 'all',
      grain: search.get('grain') || 'day',
      metric: search.get('metric') || 'revenue',
    },
  };
}

function navigate(name: ViewName, params: Params): void {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== '') search.set(key, value);
  location.hash = `#/${name}?${search.toString()}`;
}

function setStatus(state: 'loading' | 'error' | 'ready', message = ''): void {
  const status = byId('status');
  status.dataset['state'] = state;
  status.textContent = message;
}

function renderNav(current: ViewName, params: Params): void {
  byId('nav').innerHTML = (Object.entries(views) as [ViewName, View<unknown>][])
    .map(([name, view]) => {
      const search = new URLSearchParams({
        from: params.from,
        to: params.to,
        location: params.location,
        loyalty: params.loyalty,
      });
      return `<a href="#/${name}?${escapeHtml(search.toString())}" data-nav="${name}" ${name === current ? 'aria-current="page"' : ''}>${escapeHtml(view.title)}</a>`;
    })
    .join('');
}

function renderFilters(view: View<unknown>, name: ViewName, params: Params): void {
  const filters = byId('filters');
  const parts: string[] = [];
  if (view.filters.includes('range')) {
    parts.push(
      `<label>From<input type="date" name="from" value="${escapeHtml(params.from)}"></label>`,
      `<label>To<input type="date" name="to" value="${escapeHtml(params.to)}"></label>`,
    );
  }
  if (view.filters.includes('location')) {
    const options = (meta?.locations ?? [])
      .map(
        (entry) =>
          `<option value="${escapeHtml(entry.locationId)}" ${entry.locationId === params.location ? 'selected' : ''}>${escapeHtml(entry.name)}</option>`,
      )
      .join('');
    parts.push(
      `<label>Location<select name="location"><option value="">All locations</option>${options}</select></label>`,
    );
  }
  if (view.filters.includes('loyalty')) {
    const option = (value: string, label: string) =>
      `<option value="${value}" ${params.loyalty === value ? 'selected' : ''}>${label}</option>`;
    parts.push(
      `<label>Loyalty status<select name="loyalty">${option('all', 'All customers')}${option('member', 'Members')}${option('non_member', 'Non-members')}</select></label>`,
    );
  }
  if (view.filters.includes('range') && !view.filters.includes('location') && name !== 'ops') {
    parts.push('<span class="note">Nightly figures: the snapshot on or before “To”.</span>');
  }
  filters.innerHTML =
    parts.join('') || '<span class="note">Live pipeline health; refreshes every few seconds.</span>';
  for (const input of filters.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) {
    input.addEventListener('change', () => {
      const next = { ...params, [input.name]: input.value };
      if (next.from > next.to) next.from = next.to;
      navigate(name, next);
    });
  }
}

async function fetchJson<T>(url: string, signal: AbortSignal): Promise<T> {
  const response = await fetch(url, { signal, credentials: 'same-origin' });
  const body = (await response.json().catch(() => ({ error: `HTTP ${response.status}` }))) as T & {
    error?: string;
  };
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

/** Renders the current route; `quiet` keeps the old figures on screen until the new ones arrive. */
async function render(quiet = false): Promise<void> {
  inFlight?.abort();
  const controller = new AbortController();
  inFlight = controller;
  const { name, params } = route();
  const view = views[name] as View<unknown>;
  document.body.dataset['view'] = name;
  document.title = `${view.title} · tillstream`;
  if (!quiet) {
    renderNav(name, params);
    renderFilters(view, name, params);
    setStatus('loading', 'Loading…');
  }
  try {
    if (meta === null) {
      meta = await fetchJson<Meta>('/api/meta', controller.signal);
      if (!quiet) return render();
    }
    const query = new URLSearchParams({ from: params.from, to: params.to, loyalty: params.loyalty });
    if (params.location !== '') query.set('location', params.location);
    const data = await fetchJson<unknown>(`${view.api}?${query.toString()}`, controller.signal);
    if (controller.signal.aborted) return;
    destroyCharts();
    const main = byId('view');
    main.innerHTML = view.html(data, params);
    view.charts?.(data, params);
    for (const control of main.querySelectorAll<HTMLElement>('[data-control]')) {
      for (const button of control.querySelectorAll<HTMLButtonElement>('button')) {
        button.addEventListener('click', () =>
          navigate(name, { ...params, [control.dataset['control']!]: button.dataset['value']! }),
        );
      }
    }
    renders++;
    main.dataset['renders'] = String(renders);
    setStatus('ready');
  } catch (error) {
    if (controller.signal.aborted) return;
    const message = error instanceof Error ? error.message : String(error);
    setStatus('error', `Could not load ${view.title}: ${message}`);
    if (!quiet) {
      destroyCharts();
      byId('view').innerHTML = '';
    }
  }
}

function setLive(state: 'live' | 'polling' | 'connecting', text: string): void {
  const badge = byId('live');
  badge.dataset['state'] = state;
  badge.textContent = text;
}

let pollTimer: number | undefined;

function startPolling(): void {
  setLive('polling', `refreshing every ${POLL_MS / 1000} s`);
  pollTimer ??= window.setInterval(() => void render(true), POLL_MS);
}

function connectLive(): void {
  if (!meta?.live || typeof EventSource === 'undefined') {
    startPolling();
    return;
  }
  const events = new EventSource('/api/events');
  events.addEventListener('ready', () => {
    window.clearInterval(pollTimer);
    pollTimer = undefined;
    setLive('live', 'live');
  });
  events.addEventListener('update', () => {
    // The old meta stays until the new one arrives: a render in between must still be able to
    // draw the filters (a null meta would draw the location list empty and never redraw it).
    void refreshMeta().then(() => render(true));
  });
  events.addEventListener('error', () => {
    setLive('connecting', 'reconnecting…');
  });
}

async function refreshMeta(): Promise<void> {
  try {
    const response = await fetch('/api/meta', { credentials: 'same-origin' });
    if (response.ok) meta = (await response.json()) as Meta;
  } catch {
    // The view's own request reports the failure.
  }
}

window.addEventListener('hashchange', () => void render());
window.setInterval(() => {
  if (route().name === 'ops') void render(true);
}, OPS_REFRESH_MS);

void (async () => {
  await render();
  connectLive();
})();
