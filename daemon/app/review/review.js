// The alert review page: lists alerts (high severity first), shows one with its chart, summary,
// alert log and notifications, and acknowledges or resolves it. Talks only to this server's API
// with the bearer token the person entered (kept in sessionStorage: this tab only). Every value
// from the API is set as text, never as markup.
'use strict';

const TOKEN_KEY = 'markerwatch.token';
const BY_KEY = 'markerwatch.by';
const $ = (id) => document.getElementById(id);
let selected = null;  // the alert shown in the detail panel

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: 'Bearer ' + token() }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers, cache: 'no-store' }));
  if (response.status === 401) {
    signOut('The token was not accepted; enter it again.');
    throw new ApiError(401, 'not signed in');
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail || detail;
    } catch (e) {
      // not a problem+json body
    }
    throw new ApiError(response.status, detail);
  }
  return response;
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text == null ? '' : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

// Replaces a table's rows: one per item, its cells as text.
function fillTable(id, items, cellsOf) {
  const tbody = $(id).tBodies[0];
  tbody.textContent = '';
  for (const item of items) {
    const tr = document.createElement('tr');
    for (const text of cellsOf(item)) cell(tr, text);
    tbody.appendChild(tr);
  }
}

function severityBadge(td, severity) {
  td.textContent = '';
  const span = document.createElement('span');
  span.className = 'severity ' + severity;
  span.textContent = severity;
  td.appendChild(span);
}

function setStatus(id, text, isError) {
  $(id).textContent = text;
  $(id).className = isError ? 'error' : '';
}

function filterQuery() {
  const params = new URLSearchParams();
  for (const el of $('filters').elements) {
    if (el.name && el.value) params.set(el.name, el.value);
  }
  params.set('limit', '500');
  return params.toString();
}

async function loadAlerts() {
  setStatus('status', 'Loading…');
  try {
    const body = await (await api('/api/v1/alerts?' + filterQuery())).json();
    // High severity first, then the most recent firing.
    const alerts = body.alerts.slice().sort((a, b) =>
      (a.severity === b.severity ? 0 : a.severity === 'high' ? -1 : 1) ||
      b.fire_date.localeCompare(a.fire_date) || b.alert_id - a.alert_id);
    const tbody = $('alerts').tBodies[0];
    tbody.textContent = '';
    for (const a of alerts) {
      const tr = document.createElement('tr');
      tr.dataset.alertId = a.alert_id;
      tr.className = 'state-' + a.state + (selected === a.alert_id ? ' selected' : '');
      severityBadge(cell(tr, ''), a.severity);
      cell(tr, a.alert_id);
      cell(tr, a.patient_id);
      cell(tr, a.marker);
      cell(tr, a.class);
      cell(tr, a.rules.join(', '));
      cell(tr, a.fire_date);
      cell(tr, a.state, 'state');
      cell(tr, a.summary);
      // Reachable by keyboard too: Tab to a row, Enter or Space opens it.
      tr.tabIndex = 0;
      tr.setAttribute('aria-label', 'alert ' + a.alert_id + ', ' + a.severity + ', patient ' + a.patient_id);
      tr.addEventListener('click', () => showAlert(a.alert_id));
      tr.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          showAlert(a.alert_id);
        }
      });
      tbody.appendChild(tr);
    }
    const more = body.next_offset != null ? ' (first ' + alerts.length + ' shown)' : '';
    setStatus('status', alerts.length + ' alert' + (alerts.length === 1 ? '' : 's') + more);
  } catch (e) {
    if (e.status !== 401) setStatus('status', e.message, true);
  }
}

function fact(dl, name, value) {
  if (value == null || value === '') return;
  const dt = document.createElement('dt');
  dt.textContent = name;
  const dd = document.createElement('dd');
  dd.textContent = String(value);
  dl.append(dt, dd);
}

function dated(v) {
  return v ? v.value + ' (' + v.date + ')' : null;
}

async function showAlert(id) {
  selected = id;
  for (const tr of $('alerts').tBodies[0].rows) {
    tr.classList.toggle('selected', Number(tr.dataset.alertId) === id);
  }
  setStatus('action-status', '');
  try {
    const a = await (await api('/api/v1/alerts/' + id)).json();
    $('detail').hidden = false;
    $('detail').dataset.alertId = id;
    $('detail').dataset.state = a.state;
    $('detail-title').textContent =
      '#' + a.alert_id + ' ' + a.marker + ' ' + a.class + ', patient ' + a.patient_id + ': ' + a.state;
    $('detail-summary').textContent = a.summary;
    const dl = $('detail-facts');
    dl.textContent = '';
    fact(dl, 'Severity', a.severity);
    fact(dl, 'Rules', a.rules.join(', '));
    fact(dl, 'Event date', a.event_date);
    fact(dl, 'Fire date', a.fire_date);
    fact(dl, 'Value', a.comparator + a.value + ' ' + a.unit);
    fact(dl, 'Confirmed by', dated(a.confirmer));
    fact(dl, 'Nadir', dated(a.nadir));
    fact(dl, 'Baseline', dated(a.baseline));
    fact(dl, 'Anchor', a.anchor ? a.anchor.kind + ' (' + a.anchor.date + ')' : null);
    fact(dl, 'Change', a.change_pct != null ? a.change_pct.toFixed(0) + '% (' + a.change_abs + ' ' + a.unit + ')' : null);
    fact(dl, 'Doubling time', a.doubling_time_days != null ? a.doubling_time_days.toFixed(0) + ' days' : null);
    fact(dl, 'Acknowledged by', a.acknowledged_by);
    fact(dl, 'Resolved by', a.resolved_by);
    $('ack').disabled = a.state !== 'open';
    $('resolve').disabled = a.state === 'resolved' || a.state === 'retracted';

    fillTable('events', a.events, (e) => [e.at, e.event, e.actor, e.cause, e.note || e.summary || '']);
    fillTable('deliveries', a.deliveries,
              (d) => [d.receiver, d.type, d.state + (d.reason ? ': ' + d.reason : ''), d.attempts]);
    await Promise.all([showChart(a.patient_id, a.marker), showMilestones(a.patient_id)]);
    $('detail').scrollIntoView({ block: 'start' });
  } catch (e) {
    if (e.status !== 401) setStatus('action-status', e.message, true);
  }
}

// The chart comes with the token, so it is fetched and shown from a blob: as an image it can run
// nothing.
async function showChart(patient, marker) {
  const img = $('detail-chart');
  const svg = await (await api('/api/v1/patients/' + encodeURIComponent(patient) +
                               '/chart.svg?marker=' + encodeURIComponent(marker))).blob();
  if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
}

// The patient's milestone log: what anchored the alert, and who added or removed which milestone
// (a removal is why an alert can be retracted).
async function showMilestones(patient) {
  const body = await (await api('/api/v1/patients/' + encodeURIComponent(patient) + '/milestones')).json();
  fillTable('milestones', body.changes,
            (c) => [String(c.id), c.at, c.change, c.kind, c.date, c.markers || 'all', c.note, c.source,
                    c.by]);
}

async function act(action) {
  const form = $('action-form');
  const by = form.elements.by.value.trim();
  if (!by) {
    setStatus('action-status', 'Enter your name first.', true);
    return;
  }
  sessionStorage.setItem(BY_KEY, by);
  const id = Number($('detail').dataset.alertId);
  setStatus('action-status', 'Saving…');
  try {
    await api('/api/v1/alerts/' + id + '/' + action, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ by, note: form.elements.note.value }),
    });
    form.elements.note.value = '';
    await loadAlerts();
    await showAlert(id);
    setStatus('action-status', action === 'ack' ? 'Acknowledged.' : 'Resolved.');
  } catch (e) {
    if (e.status === 403) setStatus('action-status', 'This token may not review alerts (' + e.message + ').', true);
    else if (e.status !== 401) setStatus('action-status', e.message, true);
  }
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $('review').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-message').textContent = message || '';
}

function signedIn() {
  $('sign-in').hidden = true;
  $('review').hidden = false;
  $('sign-out').hidden = false;
  $('action-form').elements.by.value = sessionStorage.getItem(BY_KEY) || '';
  loadAlerts();
}

document.addEventListener('DOMContentLoaded', () => {
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    $('sign-in-message').textContent = '';
    signedIn();
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    loadAlerts();
  });
  $('action-form').addEventListener('submit', (event) => {
    event.preventDefault();
    act(event.submitter ? event.submitter.value : 'ack');
  });
  if (token()) signedIn();
  else signOut();
});
