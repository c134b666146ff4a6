// app - the mt dashboard: jobs, a job's curves, sweeps, workers, submit and sign-in, live from the event stream
//
// Plain JavaScript, no build step. Every view is an object with render(), and optionally
// onEvent(event), resync() and destroy(); the router swaps them on a hash change. Data goes
// into the page only through textContent and attributes (h() below), never as HTML. The
// event stream is read with fetch and a ReadableStream (EventSource cannot send the
// Authorization header), and its Server-Sent Events are parsed here.
'use strict';

(function () {
    const TOKEN_KEY = 'mt_token';
    const PAGE_SIZE = 50;                   // jobs a page of the table shows
    const STATES = ['queued', 'running', 'stopping', 'succeeded', 'failed', 'stopped', 'pruned'];
    const ENDED = ['succeeded', 'failed', 'stopped', 'pruned'];   // states DELETE takes
    const SWEEP_CURVES = 20;                // trials whose val curves a sweep's chart overlays
    const SWEEP_REFETCH_MS = 1000;          // a sweep's page reads it at most this often
    const SWEEP_BOARD = 200;                // the best trials a sweep's page lists
    const RECONNECT_MAX_MS = 10000;         // the event stream's longest wait between tries
    const REFETCH_MS = 400;                 // a burst of new jobs costs one page request
    const WORKERS_REFRESH_MS = 5000;        // the workers' last beat is read this often
    const EPOCHS_SHOWN = 20;                // rows of a job's epoch table

    let view = null;                        // the view on screen
    let stream = null;                      // the event stream's reader
    const root = document.getElementById('view');

    // --- Helpers ------------------------------------------------------------------------

    // An element with attributes (on* are listeners) and children (strings become text)
    function h(tag, attrs, ...children) {
        const node = document.createElement(tag);
        for (const [key, value] of Object.entries(attrs || {})) {
            if (value === null || value === undefined || value === false)
                continue;
            if (key === 'class')
                node.className = value;
            else if (key.startsWith('on'))
                node.addEventListener(key.slice(2), value);
            else if (key === 'value')
                node.value = value;
            else
                node.setAttribute(key, value === true ? '' : String(value));
        }
        for (const child of children.flat(Infinity)) {
            if (child === null || child === undefined || child === false)
                continue;
            node.append(child instanceof Node ? child : document.createTextNode(String(child)));
        }
        return node;
    }

    function clear(node) {
        while (node.firstChild)
            node.removeChild(node.firstChild);
    }

    function num(value, digits) {
        if (value === null || value === undefined || typeof value !== 'number' || !isFinite(value))
            return '–';
        if (Number.isInteger(value) && digits === undefined)
            return String(value);
        const abs = Math.abs(value);
        if (abs !== 0 && (abs < 1e-3 || abs >= 1e6))
            return value.toExponential(3);
        return value.toFixed(digits === undefined ? 4 : digits);
    }

    function ago(ms) {
        if (typeof ms !== 'number')
            return '–';
        const s = Math.max(0, (Date.now() - ms) / 1000);
        if (s < 60) return Math.floor(s) + ' s';
        if (s < 3600) return Math.floor(s / 60) + ' min';
        if (s < 86400) return Math.floor(s / 3600) + ' h';
        return Math.floor(s / 86400) + ' d';
    }

    function when(ms) {
        return typeof ms === 'number' ? new Date(ms).toLocaleString() : '–';
    }

    function duration(seconds) {
        if (typeof seconds !== 'number' || !isFinite(seconds))
            return '–';
        if (seconds < 60) return seconds.toFixed(0) + ' s';
        if (seconds < 3600) return (seconds / 60).toFixed(1) + ' min';
        return (seconds / 3600).toFixed(1) + ' h';
    }

    function stateBadge(state) {
        const name = String(state || 'unknown');
        return h('span', { class: 'state state-' + name.replace(/[^a-z_]/g, '') }, name);
    }

    function jobId(value) {
        const id = Number(value);
        return Number.isInteger(id) && id > 0 ? id : null;
    }

    function valueText(value) {
        if (value === null || value === undefined)
            return '–';
        return typeof value === 'object' ? JSON.stringify(value) : String(value);
    }

    // A function that runs fn once, ms after the last of a burst of calls
    function debounce(fn, ms) {
        let timer = null;
        const call = function () {
            clearTimeout(timer);
            timer = setTimeout(() => { timer = null; fn(); }, ms);
        };
        call.cancel = () => clearTimeout(timer);
        return call;
    }

    // --- The API --------------------------------------------------------------------------

    class ApiError extends Error {
        constructor(status, code, message) {
            super(message);
            this.status = status;
            this.code = code;
        }
    }

    function authHeaders(extra) {
        const headers = Object.assign({}, extra || {});
        const token = sessionStorage.getItem(TOKEN_KEY);
        if (token)
            headers['Authorization'] = 'Bearer ' + token;
        return headers;
    }

    // fetch path; JSON in and out. Throws ApiError with the gateway's code and message.
    async function api(method, path, body, type) {
        const options = { method: method, headers: authHeaders(), cache: 'no-store' };
        if (body !== undefined) {
            options.headers['Content-Type'] = type || 'application/json';
            options.body = type ? body : JSON.stringify(body);
        }
        let response;
        try {
            response = await fetch(path, options);
        } catch (error) {
            throw new ApiError(0, 'network', 'the gateway did not answer: ' + error.message);
        }
        let data = null;
        const text = await response.text();
        try {
            data = text ? JSON.parse(text) : null;
        } catch (error) {
            data = null;
        }
        if (response.status === 401) {
            showSignIn('Sign in: the gateway needs a token.');
            throw new ApiError(401, 'unauthorized', 'a token is needed');
        }
        if (!response.ok) {
            const err = data && data.error ? data.error : {};
            throw new ApiError(response.status, err.code || 'http_' + response.status,
                               err.message || response.statusText || 'request failed');
        }
        return data;
    }

    function errorText(error) {
        return error instanceof ApiError ? error.code + ': ' + error.message : String(error);
    }

    // --- The event stream -----------------------------------------------------------------

    // Parse one SSE block (the lines before a blank line) into {type, id, data}, or null
    function parseEvent(block) {
        let type = 'message', id = null, data = [];
        for (const raw of block.split('\n')) {
            const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
            if (line === '' || line.startsWith(':'))
                continue;                   // a comment: the gateway's ping
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            let value = colon < 0 ? '' : line.slice(colon + 1);
            if (value.startsWith(' '))
                value = value.slice(1);
            if (field === 'event') type = value;
            else if (field === 'id') id = value;
            else if (field === 'data') data.push(value);
        }
        if (data.length === 0)
            return null;
        try {
            return { type: type, id: id, data: JSON.parse(data.join('\n')) };
        } catch (error) {
            console.warn('events: data that is not JSON', error);
            return null;
        }
    }

    function setLive(on, text) {
        const badge = document.getElementById('live');
        badge.className = 'live ' + (on ? 'on' : 'off');
        badge.textContent = text || (on ? 'live' : 'offline');
    }

    // Read /api/v1/events until stopped, reconnecting with a growing wait. After a
    // reconnection the view re-reads what it shows, since events were missed meanwhile.
    function startStream() {
        const self = { stopped: false, controller: null };
        let wait = 1000, connected = false;
        async function loop() {
            while (!self.stopped) {
                self.controller = new AbortController();
                try {
                    const response = await fetch('/api/v1/events', {
                        headers: authHeaders({ 'Accept': 'text/event-stream' }),
                        cache: 'no-store', signal: self.controller.signal });
                    if (response.status === 401) {
                        setLive(false);
                        showSignIn('Sign in: the gateway needs a token.');
                        return;
                    }
                    if (!response.ok || !response.body)
                        throw new Error('HTTP ' + response.status);
                    setLive(true);
                    wait = 1000;
                    if (connected)
                        dispatch({ type: 'resync', id: null, data: {} });
                    connected = true;
                    const reader = response.body.getReader();
                    const decoder = new TextDecoder();
                    let buffer = '';
                    for (;;) {
                        const { value, done } = await reader.read();
                        if (done)
                            break;
                        buffer += decoder.decode(value, { stream: true });
                        let end;
                        while ((end = buffer.indexOf('\n\n')) >= 0) {
                            const event = parseEvent(buffer.slice(0, end));
                            buffer = buffer.slice(end + 2);
                            if (event)
                                dispatch(event);
                        }
                    }
                } catch (error) {
                    if (self.stopped)
                        return;
                    console.warn('events:', error.message);
                }
                setLive(false, 'reconnecting');
                await new Promise(resolve => setTimeout(resolve, wait));
                wait = Math.min(wait * 2, RECONNECT_MAX_MS);
            }
        }
        self.stop = function () {
            self.stopped = true;
            if (self.controller)
                self.controller.abort();
        };
        loop();
        return self;
    }

    function dispatch(event) {
        if (!view)
            return;
        if (event.type === 'resync') {
            if (view.resync)
                view.resync();
        }
        else
        if (view.onEvent)
            view.onEvent(event);
    }

    // --- Sign-in ----------------------------------------------------------------------------

    function showSignIn(message) {
        if (view && view.name === 'signin')
            return;
        if (stream) {
            stream.stop();
            stream = null;
        }
        setView(signInView(message));
    }

    function signInView(message) {
        const input = h('input', { type: 'password', id: 'token', autocomplete: 'off',
                                   placeholder: 'the SECRET of a line in the --tokens file' });
        const status = h('p', { class: 'error', id: 'signin-error' });
        async function submit(event) {
            event.preventDefault();
            const token = input.value.trim();
            if (!token) {
                status.textContent = 'Paste a token first.';
                return;
            }
            sessionStorage.setItem(TOKEN_KEY, token);
            const response = await fetch('/api/v1/whoami', { headers: authHeaders(),
                                                             cache: 'no-store' });
            if (response.ok) {
                view = null;            // leave the sign-in view, then start again
                boot();
                return;
            }
            sessionStorage.removeItem(TOKEN_KEY);
            status.textContent = response.status === 401
                ? 'The gateway refused that token.'
                : 'The gateway answered ' + response.status + '.';
        }
        return {
            name: 'signin',
            render(node) {
                node.append(h('div', { class: 'card signin' },
                    h('h1', {}, 'Sign in'),
                    h('p', { class: 'note' }, message || ''),
                    h('form', { onsubmit: submit, id: 'signin-form' },
                      h('label', { for: 'token' }, 'Token'), input,
                      h('button', { class: 'primary', type: 'submit', id: 'signin-button' },
                        'Sign in')),
                    status));
                input.focus();
            }
        };
    }

    function showWho(who) {
        const node = document.getElementById('who');
        clear(node);
        if (!who)
            return;
        node.append(h('span', { id: 'who-name' }, String(who.name) + ' (' + String(who.role) + ')'));
        if (sessionStorage.getItem(TOKEN_KEY))
            node.append(h('button', { id: 'signout', onclick: () => {
                sessionStorage.removeItem(TOKEN_KEY);
                location.reload();
            } }, 'Sign out'));
    }

    // --- The jobs table ---------------------------------------------------------------------

    function jobsView(params) {
        const self = { name: 'jobs', jobs: [], rows: new Map(), next: null,
                       cursors: [], cursor: null, showSweep: false, timer: null };
        const filter = { state: params.get('state') || '', name: params.get('name') || '',
                         sweep: params.get('sweep') || '' };
        const table = h('table', { id: 'jobs-table' });
        const status = h('p', { class: 'note', id: 'jobs-status' });
        const pageNote = h('span', { class: 'note' });
        const newer = h('button', { id: 'page-newer', onclick: () => {
            self.cursor = self.cursors.pop() || null;
            load();
        } }, '← Newer');
        const older = h('button', { id: 'page-older', onclick: () => {
            self.cursors.push(self.cursor);
            self.cursor = self.next;
            load();
        } }, 'Older →');
        const sweepBox = h('label', { hidden: true }, 'Sweep ',
            h('input', { id: 'filter-sweep', size: 8, value: filter.sweep,
                         oninput: event => { filter.sweep = event.target.value.trim(); restart(); } }));
        const refetch = debounce(() => load(), REFETCH_MS);

        function restart() {
            self.cursors = [];
            self.cursor = null;
            const query = new URLSearchParams();
            for (const [key, value] of Object.entries(filter))
                if (value)
                    query.set(key, value);
            const hash = '#/jobs' + (query.toString() ? '?' + query.toString() : '');
            history.replaceState(null, '', hash);
            refetchTyped();
        }
        const refetchTyped = debounce(() => load(), 250);

        function matches(job) {
            if (filter.state && job.state !== filter.state)
                return false;
            if (filter.name && String(job.name === null || job.name === undefined ? '' : job.name)
                               !== filter.name)
                return false;
            if (filter.sweep && String(job.sweep === undefined ? '' : job.sweep) !== filter.sweep)
                return false;
            return true;
        }

        async function load() {
            const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
            if (filter.state) query.set('state', filter.state);
            if (filter.name) query.set('name', filter.name);
            if (filter.sweep) query.set('sweep', filter.sweep);
            if (self.cursor) query.set('cursor', self.cursor);
            try {
                const data = await api('GET', '/api/v1/jobs?' + query.toString());
                if (view !== self)
                    return;
                self.jobs = data && Array.isArray(data.jobs) ? data.jobs : [];  // the broker filtered
                self.next = data && typeof data.next === 'string' ? data.next : null;
                status.textContent = '';
                draw();
            } catch (error) {
                if (view === self && error.status !== 401)
                    status.textContent = 'Could not read the jobs: ' + errorText(error);
            }
        }

        function columns() {
            const list = [['ID', 'num'], ['Name'], ['State'], ['Progress'], ['Loss', 'num'],
                          ['Val loss', 'num'], ['Metric', 'num'], ['Worker'], ['Age', 'num']];
            if (self.showSweep)
                list.splice(2, 0, ['Sweep'], ['Params']);
            return list;
        }

        function progressCell(job) {
            const p = job.progress || {};
            let fraction = null, text = '';
            if (job.state === 'succeeded') {
                fraction = 1;
            } else if (typeof p.step === 'number' && typeof p.steps === 'number' && p.steps > 0) {
                fraction = p.step / p.steps;
            } else if (typeof p.epoch === 'number' && typeof p.epochs === 'number' && p.epochs > 0) {
                fraction = p.epoch / p.epochs;
            }
            if (typeof p.epoch === 'number' && typeof p.epochs === 'number')
                text = 'epoch ' + p.epoch + '/' + p.epochs;
            const width = fraction === null ? 0 : Math.max(0, Math.min(1, fraction)) * 100;
            return [h('span', { class: 'bar', title: fraction === null ? 'no report yet'
                                : width.toFixed(1) + '%' },
                      h('span', { style: 'width:' + width.toFixed(1) + '%' })),
                    text ? h('small', {}, text) : null];
        }

        function rowCells(job) {
            const p = job.progress || {};
            const cells = [
                [h('a', { href: '#/jobs/' + jobId(job.id) }, String(jobId(job.id)))],
                [valueText(job.name === null || job.name === undefined ? '' : job.name)],
                [stateBadge(job.state)],
                progressCell(job),
                [num(p.loss)], [num(p.val_loss)], [num(p.val_metric)],
                [job.worker ? String(job.worker) : '–'],
                [ago(job.created_at)]
            ];
            if (self.showSweep)
                cells.splice(2, 0, [job.sweep === undefined ? '–' : valueText(job.sweep)],
                             [job.params === undefined ? '–' : valueText(job.params)]);
            return cells;
        }

        function drawRow(tr, job) {
            clear(tr);
            const kinds = columns();
            rowCells(job).forEach((content, i) =>
                tr.append(h('td', { class: kinds [i][1] || null }, content)));
        }

        function draw() {
            const sweepNow = self.jobs.some(job => job.sweep !== undefined && job.sweep !== null);
            self.showSweep = self.showSweep || sweepNow;
            sweepBox.hidden = !self.showSweep;
            clear(table);
            self.rows.clear();
            table.append(h('thead', {}, h('tr', {}, columns().map(c =>
                h('th', { class: c [1] || null }, c [0])))));
            const body = h('tbody', {});
            for (const job of self.jobs) {
                const tr = h('tr', { 'data-job': jobId(job.id) });
                drawRow(tr, job);
                self.rows.set(jobId(job.id), { tr: tr, job: job });
                body.append(tr);
            }
            table.append(body);
            if (self.jobs.length === 0)
                status.textContent = 'No jobs' + (filter.state || filter.name || filter.sweep
                                                  ? ' match these filters.' : ' yet.');
            newer.disabled = self.cursor === null;
            older.disabled = self.next === null;
            pageNote.textContent = 'page ' + (self.cursors.length + 1) + ', '
                                 + self.jobs.length + ' jobs';
        }

        self.onEvent = function (event) {
            const data = event.data || {};
            if (event.type === 'state' && data.job) {
                const job = data.job, row = self.rows.get(jobId(job.id));
                if (row) {
                    if (!matches(job))
                        return refetch();
                    // the state map has no history; keep the progress a progress event gave
                    if (!job.progress && row.job.progress)
                        job.progress = row.job.progress;
                    row.job = job;
                    drawRow(row.tr, job);
                } else if (self.cursor === null && matches(job)) {
                    refetch();              // a new job on the first page
                }
            } else if (event.type === 'progress') {
                const row = self.rows.get(jobId(data.job_id));
                if (row && data.progress) {
                    row.job.progress = data.progress;
                    drawRow(row.tr, row.job);
                }
            }
        };
        self.resync = load;
        self.destroy = function () {
            clearInterval(self.timer);
            refetch.cancel();
            refetchTyped.cancel();
        };
        self.render = function (node) {
            const stateSelect = h('select', { id: 'filter-state', onchange: event => {
                filter.state = event.target.value;
                restart();
            } }, h('option', { value: '' }, 'all states'),
                 STATES.map(s => h('option', { value: s }, s)));
            stateSelect.value = filter.state;
            node.append(h('h1', {}, 'Jobs'),
                h('div', { class: 'filters' },
                  h('label', {}, 'State ', stateSelect),
                  h('label', {}, 'Name ', h('input', { id: 'filter-name', value: filter.name,
                      placeholder: 'a job name', oninput: event => {
                          filter.name = event.target.value.trim();
                          restart();
                      } })),
                  sweepBox),
                table, status,
                h('div', { class: 'pager' }, newer, older, pageNote));
            // the age column moves with the clock
            self.timer = setInterval(() => {
                for (const row of self.rows.values())
                    drawRow(row.tr, row.job);
            }, 10000);
            load();
        };
        return self;
    }

    // --- A job's page -------------------------------------------------------------------------

    function jobView(id) {
        const self = { name: 'job', job: null, chart: null, pending: false };
        const head = h('div', {});
        const summary = h('div', { class: 'card', id: 'job-summary' });
        const details = h('div', {});
        const canvas = h('canvas', { id: 'loss-chart' });
        const status = h('p', { class: 'error', id: 'job-status' });
        const refetch = debounce(() => load(), 200);
        let loading = false, again = false;     // a read in flight; one more due after it

        // Read the job. One asked for while a read is in flight follows it: an event
        // that came meanwhile may be newer than what that read returns.
        async function load() {
            if (loading) {
                again = true;
                return;
            }
            loading = true;
            try {
                const job = await api('GET', '/api/v1/jobs/' + id);
                if (view !== self)
                    return;
                self.job = job;
                status.textContent = '';
                draw();
            } catch (error) {
                if (view === self && error.status !== 401)
                    status.textContent = 'Could not read job ' + id + ': ' + errorText(error);
            } finally {
                loading = false;
                if (again && view === self) {
                    again = false;
                    load();
                }
            }
        }

        function makeChart() {
            if (typeof Chart === 'undefined') {
                status.textContent = 'The chart library did not load (/vendor/chart.js).';
                return null;
            }
            const metric = (self.job && self.job.spec && self.job.spec.metric) || 'val metric';
            return new Chart(canvas, {
                type: 'line',
                data: { datasets: [
                    { label: 'train loss', data: [], borderColor: '#2f6fde',
                      backgroundColor: '#2f6fde', yAxisID: 'y', pointRadius: 0, borderWidth: 2 },
                    { label: 'val loss', data: [], borderColor: '#d64545',
                      backgroundColor: '#d64545', yAxisID: 'y', pointRadius: 0, borderWidth: 2 },
                    { label: String(metric), data: [], borderColor: '#1f9d55',
                      backgroundColor: '#1f9d55', yAxisID: 'y1', pointRadius: 0,
                      borderWidth: 2, borderDash: [5, 3] }
                ] },
                options: {
                    animation: false, parsing: false, normalized: true,
                    maintainAspectRatio: false,
                    interaction: { mode: 'nearest', axis: 'x', intersect: false },
                    scales: {
                        x: { type: 'linear', title: { display: true, text: 'step' } },
                        y: { type: 'linear', position: 'left',
                             title: { display: true, text: 'loss' } },
                        y1: { type: 'linear', position: 'right', grid: { drawOnChartArea: false },
                              title: { display: true, text: String(metric) } }
                    }
                }
            });
        }

        // One history point [step, epoch, loss, val_loss, val_metric] onto the curves
        function addPoint(point) {
            if (!Array.isArray(point) || typeof point [0] !== 'number')
                return;
            const sets = self.chart.data.datasets;
            [2, 3, 4].forEach((column, i) => {
                const y = point [column];
                if (typeof y === 'number' && isFinite(y))
                    sets [i].data.push({ x: point [0], y: y });
            });
        }

        // Redraw the chart once per frame, however many points arrived
        function chartChanged() {
            if (self.pending)
                return;
            self.pending = true;
            requestAnimationFrame(() => {
                self.pending = false;
                if (self.chart)
                    self.chart.update('none');
            });
        }

        function drawHead() {
            const job = self.job;
            clear(head);
            const stoppable = job.state === 'queued' || job.state === 'running';
            const stop = h('button', { class: 'danger', id: 'stop-job', disabled: !stoppable,
                                       onclick: stopJob }, 'Stop');
            const model = job.model_hash
                ? h('a', { class: 'button', id: 'model-link', href: '/api/v1/jobs/' + id + '/model',
                           download: 'job-' + id + '.safetensors',
                           onclick: event => download(event, 'model') },
                    'Download model')
                : h('span', { class: 'note' }, 'no model yet');
            // a failed or stopped job keeps its latest checkpoint; one that succeeded only its model
            const hasCheckpoint = job.checkpoint_epoch !== null && job.checkpoint_epoch !== undefined
                                  && job.state !== 'succeeded';
            const checkpoint = hasCheckpoint
                ? h('a', { class: 'button', id: 'checkpoint-link',
                           href: '/api/v1/jobs/' + id + '/checkpoint',
                           download: 'job-' + id + '-checkpoint.safetensors',
                           onclick: event => download(event, 'checkpoint') },
                    'Download checkpoint (epoch ' + valueText(job.checkpoint_epoch) + ')')
                : null;
            const resume = job.state === 'failed' || job.state === 'stopped'
                ? h('button', { id: 'resume-job', onclick: resumeJob }, 'Resume') : null;
            const remove = ENDED.includes(job.state)
                ? h('button', { class: 'danger', id: 'delete-job', onclick: deleteJob }, 'Delete')
                : null;
            head.append(h('h1', {}, 'Job ' + id + (job.name ? ' · ' + String(job.name) : ''), ' ',
                          h('span', { id: 'job-state' }, stateBadge(job.state))),
                        h('div', { class: 'actions' }, stop, resume, model, checkpoint, remove,
                          job.sweep !== undefined && job.sweep !== null
                              ? h('a', { href: '#/sweeps/' + jobId(job.sweep) },
                                  'sweep ' + valueText(job.sweep)) : null,
                          h('a', { href: '#/jobs' }, 'all jobs')));
        }

        function drawSummary() {
            const job = self.job, p = job.progress || {};
            clear(summary);
            const rows = [
                ['Epoch', (p.epoch === null || p.epoch === undefined ? '–' : p.epoch) + ' / '
                          + (p.epochs === null || p.epochs === undefined ? '–' : p.epochs)],
                ['Step', (p.step === null || p.step === undefined ? '–' : p.step) + ' / '
                         + (p.steps === null || p.steps === undefined ? '–' : p.steps)],
                ['Loss', num(p.loss)], ['Val loss', num(p.val_loss)],
                ['Val metric', num(p.val_metric)], ['Samples/s', num(p.samples_per_sec, 0)],
                ['ETA', duration(p.eta_s)], ['Attempt', valueText(job.attempt)],
                ['Worker', valueText(job.worker)], ['Owner', valueText(job.owner)],
                ['Priority', valueText(job.priority)],
                ['Created', when(job.created_at)], ['Started', when(job.started_at)],
                ['Finished', when(job.finished_at)]
            ];
            if (job.sweep !== undefined)
                rows.push(['Sweep', job.sweep === null ? '–'
                           : h('a', { href: '#/sweeps/' + jobId(job.sweep) }, valueText(job.sweep))]);
            if (job.params !== undefined)
                rows.push(['Params', valueText(job.params)]);
            summary.append(h('dl', { class: 'kv' }, rows.map(([k, v]) =>
                [h('dt', {}, k), h('dd', {}, v)])));
            if (job.waiting)
                summary.append(h('p', { class: 'waiting', id: 'job-waiting' },
                                 'Waiting: ' + String(job.waiting)));
            if (job.error)
                summary.append(h('p', { class: 'error', id: 'job-error' },
                                 'Error: ' + String(job.error)));
        }

        function table(id_, headers, rows) {
            return h('table', { id: id_ }, h('thead', {}, h('tr', {}, headers.map(t => h('th', {}, t)))),
                     h('tbody', {}, rows.map(r => h('tr', {}, r.map(c => h('td', {}, c))))));
        }

        function drawDetails() {
            const job = self.job;
            clear(details);
            const attempts = Array.isArray(job.attempts) ? job.attempts : [];
            details.append(h('h2', {}, 'Attempts'), attempts.length === 0
                ? h('p', { class: 'note' }, 'Not started yet.')
                : table('attempts', ['Attempt', 'Worker', 'Started', 'Finished', 'Outcome',
                                     'Resumed from epoch'],
                        attempts.map(a => [valueText(a.attempt), valueText(a.worker),
                            when(a.started_at), when(a.finished_at),
                            a.outcome ? stateBadge(a.outcome) : 'running',
                            valueText(a.resumed_from_epoch)])));
            const epochs = Array.isArray(job.epochs) ? job.epochs : [];
            details.append(h('h2', {}, 'Checkpoints and epochs'),
                h('p', { id: 'checkpoint' }, job.checkpoint_epoch === null
                    || job.checkpoint_epoch === undefined
                    ? 'No checkpoint yet.'
                    : 'Latest checkpoint: epoch ' + valueText(job.checkpoint_epoch)
                      + ' (a new attempt resumes from it).'),
                epochs.length === 0 ? null
                : table('epochs', ['Epoch', 'Step', 'Loss', 'Val loss', 'Val metric', 'Metrics'],
                        epochs.slice(-EPOCHS_SHOWN).reverse().map(e => [valueText(e.epoch),
                            valueText(e.step), num(e.loss), num(e.val_loss), num(e.val_metric),
                            valueText(e.metrics)])),
                epochs.length > EPOCHS_SHOWN
                    ? h('p', { class: 'note' }, 'The latest ' + EPOCHS_SHOWN + ' of '
                        + epochs.length + ' epochs, newest first.') : null);
            if (job.metrics)
                details.append(h('h2', {}, 'Metrics'), h('dl', { class: 'kv' },
                    Object.entries(job.metrics).map(([k, v]) =>
                        [h('dt', {}, k), h('dd', {}, typeof v === 'number' ? num(v) : valueText(v))])));
            const spec = job.spec && typeof job.spec === 'object' ? job.spec : {};
            details.append(h('h2', {}, 'Spec'), h('dl', { class: 'kv', id: 'spec' },
                Object.entries(spec).map(([k, v]) => [h('dt', {}, k), h('dd', {}, valueText(v))])));
        }

        function draw() {
            drawHead();
            drawSummary();
            drawDetails();
            if (!self.chart)
                self.chart = makeChart();
            if (self.chart) {
                self.chart.data.datasets.forEach(set => { set.data = []; });
                for (const point of Array.isArray(self.job.history) ? self.job.history : [])
                    addPoint(point);
                chartChanged();
            }
        }

        async function stopJob(event) {
            event.target.disabled = true;
            try {
                const job = await api('POST', '/api/v1/jobs/' + id + '/stop', {});
                if (view !== self)
                    return;
                if (job && job.state) {
                    self.job.state = job.state;
                    drawHead();
                }
                refetch();
            } catch (error) {
                if (error.status !== 401)
                    status.textContent = 'Stop failed: ' + errorText(error);
                event.target.disabled = false;
            }
        }

        async function resumeJob(event) {
            event.target.disabled = true;
            try {
                await api('POST', '/api/v1/jobs/' + id + '/resume', {});
                if (view === self)
                    refetch();
            } catch (error) {
                if (error.status !== 401)
                    status.textContent = 'Resume failed: ' + errorText(error);
                event.target.disabled = false;
            }
        }

        async function deleteJob(event) {
            if (!window.confirm('Delete job ' + id + ' with its history? This cannot be undone.'))
                return;
            event.target.disabled = true;
            try {
                await api('DELETE', '/api/v1/jobs/' + id);
                if (view === self)
                    location.hash = '#/jobs';
            } catch (error) {
                if (error.status !== 401)
                    status.textContent = 'Delete failed: ' + errorText(error);
                event.target.disabled = false;
            }
        }

        // With a token the download must carry it, which a link cannot: fetch, then save.
        // what: model or checkpoint
        async function download(event, what) {
            if (!sessionStorage.getItem(TOKEN_KEY))
                return;                     // the link does it
            event.preventDefault();
            try {
                const response = await fetch('/api/v1/jobs/' + id + '/' + what,
                                             { headers: authHeaders() });
                if (!response.ok)
                    throw new ApiError(response.status, 'http_' + response.status,
                                       'the ' + what + ' could not be read');
                const url = URL.createObjectURL(await response.blob());
                const link = h('a', { href: url, download: 'job-' + id
                                      + (what === 'model' ? '' : '-checkpoint') + '.safetensors' });
                document.body.append(link);
                link.click();
                link.remove();
                setTimeout(() => URL.revokeObjectURL(url), 10000);
            } catch (error) {
                status.textContent = 'Download failed: ' + errorText(error);
            }
        }

        self.onEvent = function (event) {
            const data = event.data || {};
            const ours = (event.type === 'progress' && jobId(data.job_id) === id)
                      || (event.type === 'state' && data.job && jobId(data.job.id) === id);
            if (!self.job) {
                if (ours)
                    load();                 // the first read may be older than this event
                return;
            }
            if (event.type === 'progress' && jobId(data.job_id) === id) {
                if (data.attempt !== undefined && data.attempt !== self.job.attempt)
                    return refetch();       // a new attempt: its history starts again
                if (data.progress)
                    self.job.progress = data.progress;
                if (self.chart && data.point) {
                    addPoint(data.point);
                    chartChanged();
                }
                drawSummary();
            } else if (event.type === 'state' && data.job && jobId(data.job.id) === id) {
                refetch();                  // attempts, error, model: read them all again
            }
        };
        self.resync = load;
        self.destroy = function () {
            refetch.cancel();
            if (self.chart)
                self.chart.destroy();
            self.chart = null;          // a redraw already asked for finds none
        };
        self.render = function (node) {
            node.append(head, status,
                h('div', { class: 'grid' },
                  h('div', { class: 'card' }, h('div', { class: 'chart-box' }, canvas)),
                  summary),
                details);
            load();
        };
        return self;
    }

    // --- Sweeps -----------------------------------------------------------------------------

    const CURVE_COLOURS = ['#2f6fde', '#d64545', '#1f9d55', '#b7791f', '#805ad5', '#d53f8c',
                           '#319795', '#4a5568', '#dd6b20', '#38a169'];

    // {state: n} as "state n · state n", in the order of STATES, pending first
    function countsText(counts) {
        if (!counts || typeof counts !== 'object')
            return '–';
        const order = ['pending'].concat(STATES);
        const keys = Object.keys(counts).sort((a, b) => {
            const i = order.indexOf(a), j = order.indexOf(b);
            return (i < 0 ? order.length : i) - (j < 0 ? order.length : j);
        });
        return keys.filter(k => counts [k]).map(k => k + ' ' + valueText(counts [k])).join(' · ') || '–';
    }

    // The params map as "name=value name=value"
    function paramsText(params) {
        if (!params || typeof params !== 'object')
            return valueText(params);
        return Object.entries(params).map(([k, v]) => k + '=' + (typeof v === 'number'
            ? num(v) : valueText(v))).join(' ');
    }

    function sweepsView() {
        const self = { name: 'sweeps', sweeps: [] };
        const table = h('table', { id: 'sweeps-table' });
        const status = h('p', { class: 'note', id: 'sweeps-status' });
        const refetch = debounce(() => load(), REFETCH_MS);

        async function load() {
            try {
                const data = await api('GET', '/api/v1/sweeps');
                if (view !== self)
                    return;
                self.sweeps = data && Array.isArray(data.sweeps) ? data.sweeps : [];
                status.textContent = self.sweeps.length ? '' : 'No sweeps yet (mtclient sweep, '
                                   + 'or POST /api/v1/sweeps).';
                draw();
            } catch (error) {
                if (view === self && error.status !== 401)
                    status.textContent = 'Could not read the sweeps: ' + errorText(error);
            }
        }

        function draw() {
            clear(table);
            table.append(h('thead', {}, h('tr', {}, ['ID', 'Name', 'State', 'Search',
                'Early stop', 'Metric', 'Trials', 'Counts', 'Age'].map(t => h('th', {}, t)))));
            table.append(h('tbody', {}, self.sweeps.map(s => h('tr', { 'data-sweep': jobId(s.id) },
                h('td', { class: 'num' }, h('a', { href: '#/sweeps/' + jobId(s.id) },
                                           String(jobId(s.id)))),
                h('td', {}, valueText(s.name)), h('td', {}, stateBadge(s.state)),
                h('td', {}, valueText(s.search)), h('td', {}, valueText(s.early_stop)),
                h('td', {}, valueText(s.metric)), h('td', { class: 'num' }, valueText(s.trials)),
                h('td', {}, countsText(s.counts)), h('td', { class: 'num' }, ago(s.created_at))))));
        }

        self.onEvent = function (event) {
            const job = event.data && event.data.job;
            if (event.type === 'state' && job && job.sweep !== undefined && job.sweep !== null)
                refetch();                  // a trial started or ended: the counts moved
        };
        self.resync = load;
        self.destroy = function () { refetch.cancel(); };
        self.render = function (node) {
            node.append(h('h1', {}, 'Sweeps'), sweepForm(), table, status);
            load();
        };
        return self;
    }

    function sweepView(id) {
        const self = { name: 'sweep', sweep: null, full: null, chart: null, jobs: new Set(),
                       curves: new Map(), timer: null };
        const head = h('div', {});
        const summary = h('div', { class: 'card', id: 'sweep-summary' });
        const board = h('table', { id: 'leaderboard' });
        const canvas = h('canvas', { id: 'sweep-chart' });
        const status = h('p', { class: 'error', id: 'sweep-status' });
        // At most one read per SWEEP_REFETCH_MS however many events come (a debounce
        // would wait for the trials to go quiet, which a running sweep never does)
        const refetch = function () {
            if (self.timer === null)
                self.timer = setTimeout(() => { self.timer = null; load(); }, SWEEP_REFETCH_MS);
        };
        refetch.cancel = function () {
            clearTimeout(self.timer);
            self.timer = null;
        };

        async function load() {
            try {
                const data = await api('GET', '/api/v1/sweeps/' + id + '?full=1&top=' + SWEEP_BOARD);
                if (view !== self)
                    return;
                self.sweep = data;
                self.full = data && data.full ? data.full : {};
                self.jobs = new Set((data.trials || []).map(t => jobId(t.job)).filter(Boolean));
                status.textContent = '';
                draw();
                loadCurves();
            } catch (error) {
                if (view === self && error.status !== 401)
                    status.textContent = 'Could not read sweep ' + id + ': ' + errorText(error);
            }
        }

        // One trial's epoch values of the sweep's metric, as {x: epoch, y}
        function curveOf(epochs) {
            const metric = self.sweep.metric;
            const points = [];
            for (const e of Array.isArray(epochs) ? epochs : []) {
                let y = metric === 'val_loss' ? e.val_loss
                      : e.metrics && typeof e.metrics [metric] === 'number' ? e.metrics [metric]
                      : e.val_metric;
                if (typeof e.epoch === 'number' && typeof y === 'number' && isFinite(y))
                    points.push({ x: e.epoch, y: y });
            }
            return points;
        }

        // The val curves of the best SWEEP_CURVES trials that have a job, overlaid
        async function loadCurves() {
            const trials = (self.sweep.trials || []).filter(t => jobId(t.job)).slice(0, SWEEP_CURVES);
            const results = await Promise.all(trials.map(t =>
                api('GET', '/api/v1/jobs/' + jobId(t.job) + '/history').catch(() => null)));
            if (view !== self)
                return;
            trials.forEach((t, i) => {
                if (results [i])
                    self.curves.set(jobId(t.job), curveOf(results [i].epochs));
            });
            drawChart(trials);
        }

        function drawChart(trials) {
            if (typeof Chart === 'undefined') {
                status.textContent = 'The chart library did not load (/vendor/chart.js).';
                return;
            }
            const datasets = trials.map((t, i) => {
                const colour = CURVE_COLOURS [i % CURVE_COLOURS.length];
                return { label: 'job ' + jobId(t.job) + ' ' + paramsText(t.params),
                         data: self.curves.get(jobId(t.job)) || [], borderColor: colour,
                         backgroundColor: colour, pointRadius: 1, borderWidth: 2,
                         borderDash: t.state === 'pruned' ? [4, 3] : [] };
            });
            if (!self.chart) {
                self.chart = new Chart(canvas, {
                    type: 'line', data: { datasets: datasets },
                    options: {
                        animation: false, parsing: false, normalized: true,
                        maintainAspectRatio: false,
                        interaction: { mode: 'nearest', intersect: false },
                        plugins: { legend: { labels: { boxWidth: 12 } } },
                        scales: {
                            x: { type: 'linear', title: { display: true, text: 'epoch' } },
                            y: { type: 'linear', title: { display: true,
                                 text: String(self.sweep.metric) + ' (validation)' } }
                        }
                    }
                });
            } else {
                self.chart.data.datasets = datasets;
                self.chart.update('none');
            }
        }

        function drawHead() {
            const s = self.sweep;
            clear(head);
            const stop = h('button', { class: 'danger', id: 'stop-sweep',
                                       disabled: s.state !== 'running', onclick: event =>
                                           act(event, 'stop') }, 'Stop sweep');
            // resume runs the failed and stopped trials again, and the pending ones
            const counts = self.full.counts || {};
            const rerun = counts.failed || counts.stopped || counts.pending;
            const resume = h('button', { id: 'resume-sweep', disabled: s.state === 'running' || !rerun,
                                         onclick: event => act(event, 'resume') }, 'Resume sweep');
            head.append(h('h1', {}, 'Sweep ' + id + (self.full.name ? ' · ' + String(self.full.name)
                                                     : ''), ' ',
                          h('span', { id: 'sweep-state' }, stateBadge(s.state))),
                        h('div', { class: 'actions' }, stop, resume,
                          h('a', { href: '#/jobs?sweep=' + id }, 'its jobs'),
                          h('a', { href: '#/sweeps' }, 'all sweeps')));
        }

        function drawSummary() {
            const s = self.sweep, f = self.full, best = s.best;
            clear(summary);
            const rows = [
                ['Metric', valueText(s.metric) + (s.mode ? ' (' + (s.mode === 'max'
                    ? 'higher' : 'lower') + ' is better)' : '')],
                ['Search', valueText(f.search)], ['Early stop', valueText(f.early_stop)
                    + (f.early_stop === 'asha' ? ' (R ' + valueText(f.min_epochs) + ', η '
                       + valueText(f.reduction) + ')' : '')],
                ['Parallel', valueText(f.parallel)], ['Seed', valueText(f.seed)],
                ['Trials', String((s.trials || []).length + (s.more || 0))
                    + (s.more ? ' (the best ' + (s.trials || []).length + ' shown)' : '')],
                ['Counts', h('span', { id: 'sweep-counts' }, countsText(f.counts))],
                ['Created', when(f.created_at)],
                ['Best trial', best && jobId(best.job)
                    ? h('span', { id: 'sweep-best' },
                        h('a', { href: '#/jobs/' + jobId(best.job) }, 'job ' + jobId(best.job)),
                        ' · ' + paramsText(best.params) + ' · ' + num(best.best_metric, 4))
                    : h('span', { id: 'sweep-best' }, 'none has succeeded yet')]
            ];
            summary.append(h('dl', { class: 'kv' }, rows.map(([k, v]) =>
                [h('dt', {}, k), h('dd', {}, v)])));
        }

        // The leaderboard, best first as the broker sorts it; a pruned trial says why
        function drawBoard() {
            clear(board);
            const errors = new Map();
            for (const t of Array.isArray(self.full.trials) ? self.full.trials : [])
                if (jobId(t.job) && t.error)
                    errors.set(jobId(t.job), t.error);
            board.append(h('thead', {}, h('tr', {}, ['#', 'Job', 'Params', 'State',
                'Epochs run', 'Best ' + String(self.sweep.metric), 'Best epoch', 'Why']
                .map(t => h('th', {}, t)))));
            board.append(h('tbody', {}, (self.sweep.trials || []).map((t, i) => {
                const job = jobId(t.job);
                return h('tr', { 'data-job': job, class: t.state === 'pruned' ? 'pruned' : null },
                    h('td', { class: 'num' }, String(i + 1)),
                    h('td', { class: 'num' }, job ? h('a', { href: '#/jobs/' + job }, String(job))
                                                  : 'pending'),
                    h('td', {}, paramsText(t.params)),
                    h('td', {}, stateBadge(t.state)),
                    h('td', { class: 'num' }, valueText(t.epochs_run)),
                    h('td', { class: 'num' }, num(t.best_metric, 4)),
                    h('td', { class: 'num' }, valueText(t.best_epoch)),
                    h('td', { class: 'why' }, job && errors.has(job) ? String(errors.get(job)) : ''));
            })));
        }

        function draw() {
            drawHead();
            drawSummary();
            drawBoard();
        }

        async function act(event, what) {
            event.target.disabled = true;
            try {
                await api('POST', '/api/v1/sweeps/' + id + '/' + what, {});
                if (view === self)
                    load();
            } catch (error) {
                if (error.status !== 401)
                    status.textContent = (what === 'stop' ? 'Stop' : 'Resume') + ' failed: '
                                       + errorText(error);
                event.target.disabled = false;
            }
        }

        self.onEvent = function (event) {
            const data = event.data || {};
            if (event.type === 'state' && data.job && jobId(data.job.sweep) === id)
                refetch();                  // a trial started, ended or was pruned
            else if (event.type === 'progress' && self.jobs.has(jobId(data.job_id)))
                refetch();                  // an epoch may have moved the leaderboard
        };
        self.resync = load;
        self.destroy = function () {
            refetch.cancel();
            if (self.chart)
                self.chart.destroy();
            self.chart = null;
        };
        self.render = function (node) {
            node.append(head, status,
                h('div', { class: 'grid' },
                  h('div', { class: 'card' }, h('div', { class: 'chart-box' }, canvas)),
                  summary),
                h('h2', {}, 'Leaderboard'), board);
            load();
        };
        return self;
    }

    // --- The workers ------------------------------------------------------------------------

    function workersView() {
        const self = { name: 'workers', workers: [], readAt: 0, timer: null };
        const table = h('table', { id: 'workers-table' });
        const status = h('p', { class: 'note', id: 'workers-status' });

        async function load() {
            try {
                const data = await api('GET', '/api/v1/workers');
                if (view !== self)
                    return;
                self.workers = data && Array.isArray(data.workers) ? data.workers : [];
                self.readAt = Date.now();
                status.textContent = self.workers.length === 0 ? 'No worker is connected.' : '';
                draw();
            } catch (error) {
                if (view === self && error.status !== 401)
                    status.textContent = 'Could not read the workers: ' + errorText(error);
            }
        }

        function lastBeat(w) {
            if (typeof w.last_seen_ms !== 'number')
                return '–';
            return ((w.last_seen_ms + Date.now() - self.readAt) / 1000).toFixed(1) + ' s ago';
        }

        function draw() {
            clear(table);
            table.append(h('thead', {}, h('tr', {}, ['Name', 'State', 'Job', 'Attempt', 'Host',
                'Cores', 'Threads', 'Version', 'Connected', 'Last beat'].map(t => h('th', {}, t)))));
            table.append(h('tbody', {}, self.workers.map(w => h('tr', {},
                h('td', {}, valueText(w.name)), h('td', {}, stateBadge(w.state)),
                h('td', {}, jobId(w.job) ? h('a', { href: '#/jobs/' + jobId(w.job) },
                                             String(jobId(w.job))) : '–'),
                h('td', {}, valueText(w.attempt)), h('td', {}, valueText(w.host)),
                h('td', { class: 'num' }, valueText(w.cores)),
                h('td', { class: 'num' }, valueText(w.threads)),
                h('td', {}, valueText(w.version)), h('td', {}, ago(w.connected_at) + ' ago'),
                h('td', { class: 'num' }, lastBeat(w))))));
        }

        self.onEvent = function (event) {
            const data = event.data || {};
            if (event.type !== 'worker' || !data.worker)
                return;
            const name = data.worker.name;
            const i = self.workers.findIndex(w => w.name === name);
            if (data.event === 'lost') {
                if (i >= 0)
                    self.workers.splice(i, 1);
            } else if (i >= 0) {
                self.workers [i] = data.worker;
            } else {
                self.workers.push(data.worker);
            }
            // its last_seen_ms is as of this event, the others' as of the last read
            load();
        };
        self.resync = load;
        self.destroy = () => clearInterval(self.timer);
        self.render = function (node) {
            node.append(h('h1', {}, 'Workers'), table, status);
            self.timer = setInterval(load, WORKERS_REFRESH_MS);
            load();
        };
        return self;
    }

    // --- Submit -----------------------------------------------------------------------------

    // The column names on a CSV header line (RFC 4180 quoting)
    function csvHeader(line) {
        const names = [];
        let field = '', quoted = false;
        for (let i = 0; i < line.length; i++) {
            const c = line [i];
            if (quoted) {
                if (c === '"' && line [i + 1] === '"') { field += '"'; i++; }
                else if (c === '"') quoted = false;
                else field += c;
            } else if (c === '"') {
                quoted = true;
            } else if (c === ',') {
                names.push(field);
                field = '';
            } else {
                field += c;
            }
        }
        names.push(field);
        return names.map(n => n.trim());
    }

    // The columns of a CSV or JSONL file, from its first 64 KiB
    function readColumns(file) {
        return new Promise((resolve, reject) => {
            const reader = new FileReader();
            reader.onerror = () => reject(new Error('the file could not be read'));
            reader.onload = () => {
                let text = String(reader.result || '');
                if (text.charCodeAt(0) === 0xfeff)
                    text = text.slice(1);
                const lines = text.split(/\r?\n/).filter(l => l.trim() !== '');
                if (lines.length === 0)
                    return reject(new Error('the file is empty'));
                const jsonl = /\.(jsonl|ndjson|json)$/i.test(file.name)
                              || lines [0].trim().startsWith('{');
                if (!jsonl)
                    return resolve({ format: 'csv', columns: csvHeader(lines [0]) });
                try {
                    const row = JSON.parse(lines [0]);
                    if (!row || typeof row !== 'object' || Array.isArray(row))
                        return reject(new Error('the first line is not a JSON object'));
                    resolve({ format: 'jsonl', columns: Object.keys(row) });
                } catch (error) {
                    reject(new Error('the first line is not JSON: ' + error.message));
                }
            };
            reader.readAsText(file.slice(0, 65536));
        });
    }

    // The data file, target and main spec fields the submit and sweep forms share. Ids are
    // prefix + the spec field's name. Returns { rows, spec(), upload(status), check() }.
    function specFields(prefix) {
        const self = { format: null };
        const target = h('select', { id: prefix + 'target', name: 'target', required: true },
                         h('option', { value: '' }, 'choose a file first'));
        const file = h('input', { type: 'file', id: prefix + 'file',
                                  accept: '.csv,.jsonl,.ndjson,.json', required: true,
                                  onchange: pick });
        const note = h('p', { class: 'note', id: prefix + 'file-note' });
        const field = (id, attrs) => h('input', Object.assign({ id: prefix + id, name: id }, attrs));
        const select = (id, first, values) => h('select', { id: prefix + id },
            h('option', { value: '' }, first), values.map(v => h('option', { value: v }, v)));
        const inputs = {
            name: field('name', { placeholder: 'optional' }),
            task: select('task', 'default (regression)', ['regression', 'classification']),
            epochs: field('epochs', { type: 'number', min: 1, value: '20' }),
            batch_size: field('batch_size', { type: 'number', min: 1, value: '16' }),
            lr: field('lr', { type: 'number', step: 'any', min: 0, value: '0.01' }),
            hidden: field('hidden', { placeholder: 'e.g. 32,16 (default 16)' }),
            activation: select('activation', 'default', ['relu', 'tanh', 'sigmoid']),
            optimizer: select('optimizer', 'default', ['sgd', 'adam', 'adamw']),
            val_split: field('val_split', { type: 'number', step: 'any', min: 0, max: 0.9,
                                            placeholder: 'default' }),
            seed: field('seed', { type: 'number', placeholder: 'default' }),
            checkpoint_every: field('checkpoint_every', { type: 'number', min: 0,
                                                          placeholder: 'epochs; default' }),
            priority: field('priority', { type: 'number', placeholder: 'default' })
        };
        const ints = ['epochs', 'batch_size', 'seed', 'checkpoint_every', 'priority'];
        const reals = ['lr', 'val_split'];
        const labels = [['Name', 'name'], ['Task', 'task'], ['Epochs', 'epochs'],
            ['Batch size', 'batch_size'], ['Learning rate', 'lr'], ['Hidden layers', 'hidden'],
            ['Activation', 'activation'], ['Optimizer', 'optimizer'],
            ['Validation split', 'val_split'], ['Seed', 'seed'],
            ['Checkpoint every', 'checkpoint_every'], ['Priority', 'priority']];

        async function pick() {
            clear(target);
            self.format = null;
            note.className = 'note';
            note.textContent = '';
            const chosen = file.files [0];
            if (!chosen)
                return;
            try {
                const found = await readColumns(chosen);
                self.format = found.format;
                found.columns.forEach(c => target.append(h('option', { value: c }, c)));
                target.value = found.columns [found.columns.length - 1];
                note.textContent = found.columns.length + ' columns (' + found.format + ')';
            } catch (error) {
                note.className = 'error';
                note.textContent = chosen.name + ': ' + error.message;
            }
        }

        self.rows = function (row, omit) {
            return [row('Data (CSV or JSONL)', file), h('div', { class: 'wide' }, note),
                    row('Target column', target)].concat(labels
                .filter(([, key]) => !(omit || []).includes(key))
                .map(([label, key]) => row(label, inputs [key])));
        };
        // null when a file and its target are chosen, else what to do
        self.check = function () {
            return file.files [0] && self.format && target.value ? null
                 : 'Choose a CSV or JSONL file and its target column.';
        };
        self.spec = function (omit) {
            const body = { target: target.value };
            for (const [key, input] of Object.entries(inputs)) {
                const text = String(input.value).trim();
                if (text === '' || (omit || []).includes(key))
                    continue;
                if (ints.includes(key))
                    body [key] = parseInt(text, 10);
                else if (reals.includes(key))
                    body [key] = parseFloat(text);
                else if (key === 'hidden')
                    body.hidden = text.split(/[ ,]+/).filter(Boolean).map(n => parseInt(n, 10));
                else
                    body [key] = text;
            }
            return body;
        };
        // Upload the chosen file; the spec fields that name it
        self.upload = async function (status) {
            const chosen = file.files [0];
            status.textContent = 'Uploading ' + chosen.name + ' (' + chosen.size + ' bytes)…';
            const blob = await api('POST', '/api/v1/datasets?name='
                                   + encodeURIComponent(chosen.name), chosen,
                                   'application/octet-stream');
            return { dataset: blob.hash, data_name: chosen.name, format: self.format };
        };
        return self;
    }

    const formRow = (label, input) => [h('label', { for: input.id }, label), input];

    //  A form's send: its button off while send() runs; on an error (but a 401,
    //  which the sign-in takes) the message under the form, and the button back on
    async function sendForm(event, status, failed, send) {
        const button = event.target.querySelector('button[type=submit]');
        button.disabled = true;
        status.className = 'note';
        try {
            await send();
        } catch (error) {
            if (error.status !== 401) {
                status.className = 'error';
                status.textContent = failed + errorText(error);
            }
            button.disabled = false;
        }
    }

    function submitView() {
        const self = { name: 'submit' };
        const status = h('p', { id: 'submit-status' });
        const fields = specFields('');

        async function submit(event) {
            event.preventDefault();
            const problem = fields.check();
            if (problem) {
                status.className = 'error';
                status.textContent = problem;
                return;
            }
            await sendForm(event, status, 'Not submitted: ', async function () {
                const body = Object.assign(fields.spec(), await fields.upload(status));
                status.textContent = 'Submitting…';
                const made = await api('POST', '/api/v1/jobs', body);
                location.hash = '#/jobs/' + jobId(made.job_id);
            });
        }

        self.render = function (node) {
            node.append(h('h1', {}, 'Submit a job'), h('div', { class: 'card' },
                h('form', { class: 'submit', id: 'submit-form', onsubmit: submit },
                  fields.rows(formRow),
                  h('div', { class: 'wide' },
                    h('button', { class: 'primary', type: 'submit', id: 'submit-button' },
                      'Upload and submit'))),
                status));
        };
        return self;
    }

    // The sweeps page's form: a base spec, parameter rows NAME and SPACE (as mtclient sweep
    // --param NAME=SPACE takes them), the search and its early stopping. POST /api/v1/sweeps.
    function sweepForm() {
        const fields = specFields('sweep-');
        const status = h('p', { id: 'sweep-form-status' });
        const params = h('div', { id: 'sweep-params', class: 'wide params' });
        const field = (id, attrs) => h('input', Object.assign({ id: 'sweep-' + id, name: id }, attrs));
        const own = {
            search: h('select', { id: 'sweep-search' },
                      ['grid', 'random'].map(v => h('option', { value: v }, v))),
            trials: field('trials', { type: 'number', min: 1, placeholder: 'random: how many' }),
            parallel: field('parallel', { type: 'number', min: 1, placeholder: 'default: all' }),
            early_stop: h('select', { id: 'sweep-early_stop' },
                          ['none', 'asha', 'median'].map(v => h('option', { value: v }, v))),
            min_epochs: field('min_epochs', { type: 'number', min: 1, placeholder: 'default' }),
            reduction: field('reduction', { type: 'number', min: 2, placeholder: 'default' }),
            metric: field('metric', { placeholder: 'default (val_loss)' }),
            sweep_seed: field('sweep_seed', { type: 'number', placeholder: 'default' })
        };

        function addParam(name, space) {
            const n = params.children.length;
            const row = h('div', { class: 'param', 'data-param': n },
                h('input', { class: 'param-name', placeholder: 'lr', value: name || '',
                             'aria-label': 'parameter name' }),
                h('input', { class: 'param-space', size: 28, value: space || '',
                             placeholder: '0.1|0.01 or log-uniform:1e-4:1e-1',
                             'aria-label': 'parameter space' }),
                h('button', { type: 'button', class: 'param-remove',
                              onclick: () => row.remove() }, 'Remove'));
            params.append(row);
        }

        function body() {
            // the spec's seed is left out: 'seed' is the sweep's own (its draw of trials)
            const out = Object.assign(fields.spec(['seed', 'checkpoint_every', 'priority']),
                                      { params: [] });
            for (const row of params.querySelectorAll('.param')) {
                const name = row.querySelector('.param-name').value.trim();
                const space = row.querySelector('.param-space').value.trim();
                if (name === '' && space === '')
                    continue;
                if (name === '' || space === '')
                    throw new Error('a parameter row needs both a NAME and a SPACE');
                out.params.push(name + '=' + space);
            }
            if (!out.params.length)
                throw new Error('add a parameter: a NAME and a SPACE such as lr and 0.1|0.01');
            out.search = own.search.value;
            out.early_stop = own.early_stop.value;
            for (const key of ['trials', 'parallel', 'min_epochs', 'reduction']) {
                const text = own [key].value.trim();
                if (text !== '')
                    out [key] = parseInt(text, 10);
            }
            if (own.metric.value.trim() !== '')
                out.metric = own.metric.value.trim();
            if (own.sweep_seed.value.trim() !== '')
                out.seed = parseInt(own.sweep_seed.value.trim(), 10);
            return out;
        }

        async function submit(event) {
            event.preventDefault();
            status.className = 'error';
            let made;
            try {
                made = body();
            } catch (error) {
                status.textContent = error.message;
                return;
            }
            const problem = fields.check();
            if (problem) {
                status.textContent = problem;
                return;
            }
            await sendForm(event, status, 'No sweep: ', async function () {
                Object.assign(made, await fields.upload(status));
                status.textContent = 'Starting the sweep…';
                const reply = await api('POST', '/api/v1/sweeps', made);
                location.hash = '#/sweeps/' + jobId(reply.sweep);
            });
        }

        addParam('', '');
        return h('details', { class: 'card', id: 'sweep-new' },
            h('summary', {}, 'New sweep'),
            h('form', { class: 'submit', id: 'sweep-form', onsubmit: submit },
              fields.rows(formRow, ['seed', 'checkpoint_every', 'priority']),
              h('div', { class: 'wide' }, h('strong', {}, 'Parameters'),
                ' (NAME and SPACE, as mtclient sweep --param NAME=SPACE)'),
              params,
              h('div', { class: 'wide' },
                h('button', { type: 'button', id: 'sweep-add-param',
                              onclick: () => addParam('', '') }, 'Add parameter')),
              formRow('Search', own.search), formRow('Trials', own.trials),
              formRow('Parallel', own.parallel), formRow('Early stop', own.early_stop),
              formRow('Min epochs', own.min_epochs), formRow('Reduction (η)', own.reduction),
              formRow('Metric', own.metric), formRow('Sweep seed', own.sweep_seed),
              h('div', { class: 'wide' },
                h('button', { class: 'primary', type: 'submit', id: 'sweep-submit' },
                  'Upload and start the sweep'))),
            status);
    }

    // --- Routing ----------------------------------------------------------------------------

    function setView(next) {
        if (view && view.destroy)
            view.destroy();
        view = next;
        clear(root);
        for (const link of document.querySelectorAll('header nav a'))
            link.classList.toggle('active', link.dataset.view === next.name
                                  || (next.name === 'job' && link.dataset.view === 'jobs')
                                  || (next.name === 'sweep' && link.dataset.view === 'sweeps'));
        next.render(root);
    }

    function route() {
        const hash = location.hash.replace(/^#\/?/, '');
        const [path, query] = hash.split('?');
        const parts = path.split('/').filter(Boolean);
        const params = new URLSearchParams(query || '');
        if (parts [0] === 'jobs' && parts.length === 2 && jobId(parts [1]))
            return setView(jobView(jobId(parts [1])));
        if (parts [0] === 'sweeps' && parts.length === 2 && jobId(parts [1]))
            return setView(sweepView(jobId(parts [1])));
        if (parts [0] === 'sweeps')
            return setView(sweepsView());
        if (parts [0] === 'workers')
            return setView(workersView());
        if (parts [0] === 'submit')
            return setView(submitView());
        return setView(jobsView(params));
    }

    async function boot() {
        let who;
        try {
            who = await api('GET', '/api/v1/whoami');
        } catch (error) {
            if (error.status === 401)
                return;                     // the sign-in is on screen
            clear(root);
            root.append(h('p', { class: 'error' }, 'The gateway did not answer whoami: '
                             + errorText(error)));
            return;
        }
        showWho(who);
        route();
        if (!stream)
            stream = startStream();
    }

    window.addEventListener('hashchange', () => {
        if (!view || view.name !== 'signin')
            route();
    });
    boot();
})();
