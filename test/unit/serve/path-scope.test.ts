/**
 * Path scoping over browser mode's real WebSocket (issue 12): the page may name only paths
 * under the session's granted roots (a path chosen in the path prompt, the project folder in
 * use, a project from the recent list). Anything else is refused in one sentence naming the path
 * and how to grant it, before the engine or the file system acts on it; links out of a granted
 * folder are judged by their real path; refusals never carry what a file holds.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { HostMessage } from '../../../src-main/contract/host-messages.js';
import { createAppHandlers } from '../../../src-main/host/app-calls.js';
import { jobPaths, PathScope } from '../../../src-main/host/path-scope.js';
import { CallRouter, type JobRunner } from '../../../src-main/host/router.js';
import { RecentProjects } from '../../../src-main/project/recent.js';
import { startServer, type RunningServer } from '../../../src-main/serve/server.js';

const SECRET = 'SECRET-4f1c9a-do-not-echo';
const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), prefix));

let server: RunningServer;
let ws: WebSocket;
let home: string;
let outside: string;
let recent: RecentProjects;
/** The jobs that reached the engine: a refused job must never get here. */
const ran: { job: string; args: unknown }[] = [];
const runner: JobRunner = {
  run: async (job, args) => { ran.push({ job, args }); return { ok: true }; },
  cancel: () => {},
};

let next = 0;
const replies = new Map<string, (m: HostMessage) => void>();
function call(name: string, args: unknown): Promise<HostMessage> {
  const id = `t${++next}`;
  return new Promise((resolve) => { replies.set(id, resolve); ws.send(JSON.stringify({ type: 'invoke', id, call: name, args })); });
}
async function done(name: string, args: unknown): Promise<any> {
  const reply = await call(name, args);
  if (reply.type !== 'done') throw new Error(`${name} failed: ${JSON.stringify(reply)}`);
  return reply.value;
}
async function refused(name: string, args: unknown): Promise<string> {
  const reply = await call(name, args);
  if (reply.type !== 'failed') throw new Error(`${name} was not refused: ${JSON.stringify(reply)}`);
  expect(reply.error.kind).toBe('user');
  return reply.error.message;
}

beforeAll(async () => {
  home = tmp('clear-scope-home-');
  outside = tmp('clear-scope-outside-');
  writeFileSync(path.join(outside, 'secret.csv'), `label,x\n${SECRET},1\n`);
  const scope = new PathScope({ browse: [home] });
  recent = new RecentProjects(path.join(tmp('clear-scope-cfg-'), 'recent.json'));
  const app = createAppHandlers({ mode: 'browser', engine: { backend: async () => ({ backend: null }) } as never, recent, scope });
  const rendererDir = tmp('clear-scope-renderer-');
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html>');
  server = await startServer({ rendererDir, router: new CallRouter(runner, app, scope), port: 0 });
  ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, { headers: { Origin: `http://127.0.0.1:${server.port}` } });
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as HostMessage;
    if ('id' in m && m.type !== 'progress') replies.get(m.id)?.(m);
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
});

afterAll(async () => { ws?.close(); await server?.close(); });
beforeEach(() => { ran.length = 0; });

describe('browser mode accepts paths only under the folders the user chose', () => {
  it('lists the home folder, but not a folder outside it nor chosen (no names, no kind)', async () => {
    mkdirSync(path.join(home, 'datasets'), { recursive: true });
    const listed = await done('path.inspect', { path: home });
    expect(listed.entries.map((e: { name: string }) => e.name)).toContain('datasets');
    for (const p of ['/etc', outside, path.join(outside, 'secret.csv')]) {
      const info = await done('path.inspect', { path: p });
      expect(info).toEqual({ path: p, exists: false, kind: null, parent: path.dirname(p), outside: true });
    }
  });

  it('refuses a job naming a path outside the granted roots before the engine sees it, in one sentence that names the path and says how to grant it', async () => {
    const file = path.join(outside, 'secret.csv');
    const message = await refused('datasetPreview', { data: `csv:${file}` });
    expect(message).toBe(`The dataset path ${file} is outside the folders chosen in this session, so it is not used; choose it with Browse… (or File › Open) to grant it.`);
    expect(message).not.toContain(SECRET);
    expect(await refused('train', { data: 'mnist', out: '/etc/clear-model' })).toMatch(/^The output path \/etc\/clear-model is outside the folders chosen/);
    expect(await refused('info', { model: '/etc' })).toMatch(/^The model folder \/etc is outside/);
    // A scan's imported neighbour file is a path it reads, judged like the others.
    expect(jobPaths('scan', { model: 'm', data: 'mnist', neighbourGraphFrom: 'indices.npy' })).toContainEqual({ path: 'indices.npy', what: 'The neighbour file' });
    // Built-in data names no path: nothing to grant.
    await done('datasetPreview', { data: 'mnist' });
    expect(ran.map((r) => r.job)).toEqual(['datasetPreview']);
  });

  it('refuses a project or an export in a folder the user did not choose, creating nothing', async () => {
    const dir = path.join(outside, 'project');
    expect(await refused('project.create', { dir })).toMatch(/^The project folder .*project is outside the folders chosen in this session/);
    expect(existsSync(dir)).toBe(false);
    expect(await refused('project.allocate', { dir: '/etc', kind: 'model' })).toMatch(/^The project folder \/etc is outside/);
    const model = path.join(home, 'model');
    mkdirSync(model, { recursive: true });
    writeFileSync(path.join(model, 'model.json'), '{}');
    expect(await refused('export.model', { from: model, to: path.join(outside, 'exported') })).toMatch(/^The model folder .*model is outside/);
    expect(readdirSync(outside).sort()).toEqual(['secret.csv']);
  });

  it('accepts a path once it is chosen in the path prompt, and everything under it', async () => {
    const chosen = tmp('clear-scope-chosen-');
    writeFileSync(path.join(chosen, 'digits.csv'), 'label,x\n0,1\n');
    expect(await refused('datasetPreview', { data: `csv:${path.join(chosen, 'digits.csv')}` })).toMatch(/outside the folders chosen/);
    const info = await done('path.choose', { path: chosen });
    expect(info).toMatchObject({ path: chosen, exists: true, kind: 'folder' });
    await done('datasetPreview', { data: `csv:${path.join(chosen, 'digits.csv')}` });
    await done('train', { data: `idx:${path.join(chosen, 'a')},${path.join(chosen, 'b')}`, out: path.join(chosen, 'models', 'm-1') });
    expect(ran.map((r) => r.job)).toEqual(['datasetPreview', 'train']);
    // The project created there is the project in use; its outputs are allocated inside it.
    const project = await done('project.create', { dir: path.join(chosen, 'p'), name: 'p' });
    expect(project.dir).toBe(path.join(chosen, 'p'));
    expect((await done('project.allocate', { dir: project.dir, kind: 'scan' })).path).toBe(path.join(chosen, 'p', 'scans', 'scan-1.json'));
    // Its sibling folders are not granted by it.
    expect(await refused('info', { model: path.dirname(chosen) })).toMatch(/outside the folders chosen/);
  });

  it('follows symbolic links: a link inside a chosen folder that leads out of it is refused', async () => {
    const chosen = tmp('clear-scope-links-');
    await done('path.choose', { path: chosen });
    symlinkSync(outside, path.join(chosen, 'out-dir'));
    symlinkSync(path.join(outside, 'secret.csv'), path.join(chosen, 'data.csv'));
    const viaFile = await refused('datasetPreview', { data: `csv:${path.join(chosen, 'data.csv')}` });
    expect(viaFile).toMatch(/^The dataset path .*data\.csv is outside the folders chosen/);
    expect(viaFile).not.toContain(SECRET);
    expect(await refused('train', { data: 'mnist', out: path.join(chosen, 'out-dir', 'new-model') })).toMatch(/^The output path .*out-dir\/new-model is outside/);
    expect((await done('path.inspect', { path: path.join(chosen, 'out-dir') })).outside).toBe(true);
    expect(ran).toEqual([]);
    expect(readdirSync(outside).sort()).toEqual(['secret.csv']);
  });

  it('opens a project from the recent list without a new choice, and its project file\'s bytes never appear in an error', async () => {
    const dir = tmp('clear-scope-recent-');
    writeFileSync(path.join(dir, 'project.json'), `{"name": "${SECRET}", oops`);
    recent.add(dir, 'recent');
    const message = await refused('project.open', { dir });
    expect(message).toContain(path.join(dir, 'project.json'));
    expect(message).toMatch(/is not valid JSON/);
    expect(message).not.toContain(SECRET);
    // Opening it from the recent list granted the folder.
    expect((await done('path.inspect', { path: dir })).outside).toBeUndefined();
  });

  it('checks the model and data an inline scan names when a report is not given its own', async () => {
    const chosen = tmp('clear-scope-report-');
    await done('path.choose', { path: chosen });
    const scan = { model: { dir: '/etc/model' }, dataset: { spec: `csv:${path.join(outside, 'secret.csv')}` } };
    expect(await refused('exportReport', { scan, out: path.join(chosen, 'report') })).toMatch(/^The model folder \/etc\/model is outside/);
    expect(await refused('exportReport', { scan, model: path.join(chosen, 'm'), out: path.join(chosen, 'report') })).toMatch(/^The dataset path .*secret\.csv is outside/);
    await done('exportReport', { scan, model: path.join(chosen, 'm'), data: 'mnist', out: path.join(chosen, 'report') });
    expect(ran.map((r) => r.job)).toEqual(['exportReport']);
  });
});
