import { isQueueDashboardRequest } from './mount-queue-dashboard';

const req = (url: string, route?: string) => ({ url, routeOptions: { url: route } }) as never;

describe('isQueueDashboardRequest', () => {
  it('covers the page, its API, its assets and unknown paths under /admin/queues', () => {
    for (const url of [
      '/admin/queues',
      '/admin/queues/',
      '/admin/queues?x=1',
      '/admin/queues/static/js/main.js',
      '/admin/queues/api/queues?activeQueue=matching',
      '/admin/queues/no-such-page',
    ]) {
      expect([url, isQueueDashboardRequest(req(url))]).toEqual([url, true]);
    }
  });

  it('sees through percent-encoding, repeated slashes and case', () => {
    for (const url of [
      '/admin/%71ueues/',
      '//admin//queues/static/x.css',
      '/ADMIN/Queues',
      '/admin/queues%2Fapi',
    ]) {
      expect([url, isQueueDashboardRequest(req(url))]).toEqual([url, true]);
    }
  });

  it('trusts the matched route too, and leaves other admin routes to Nest', () => {
    expect(isQueueDashboardRequest(req('/whatever', '/admin/queues/static/*'))).toBe(true);
    for (const url of ['/admin/queue', '/admin/queuesx', '/admin/audit', '/v1/bids', '/admin/%zz']) {
      expect([url, isQueueDashboardRequest(req(url))]).toEqual([url, false]);
    }
  });
});
