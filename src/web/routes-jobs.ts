/** Job routes (read one, cancel one) and the event stream. */
import type { Hono } from 'hono';
import type { JobView } from './api.js';
import { onlyFields, readJson } from './body.js';
import type { Deps } from './deps.js';
import { badField } from './http-errors.js';

const JOB_ID = /^[0-9a-f-]{36}$/;

function jobId(raw: string): string {
  if (!JOB_ID.test(raw)) throw badField('id', 'is not a job identifier');
  return raw;
}

export function registerJobRoutes(app: Hono, deps: Deps): void {
  app.get('/api/jobs/:id', (c) =>
    c.json({ job: deps.jobs.get(jobId(c.req.param('id'))).view() } satisfies { job: JobView }),
  );

  app.post('/api/jobs/:id/cancel', async (c) => {
    const id = jobId(c.req.param('id'));
    onlyFields(await readJson(c.req.raw), []);
    return c.json({ job: deps.jobs.cancel(id).view() } satisfies { job: JobView });
  });

  app.get('/api/events', (c) =>
    deps.bus.stream(c, () => {
      const { devices, problem } = deps.monitor.snapshot();
      return { type: 'devices', devices, problem };
    }),
  );
}
