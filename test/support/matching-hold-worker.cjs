// A built worker process (dist/main.worker.js) whose matching runs can be held: the same boot,
// with MatchingRunProbe overridden through the Nest container. Needs `npm run build`.
require('reflect-metadata');
const { Test } = require('@nestjs/testing');
const { boot } = require('../../dist/bootstrap/boot');
const { RedisService } = require('../../dist/infra/redis/redis.service');
const { MatchingRunProbe } = require('../../dist/modules/matching/matching-run-probe');
const { MatchingHold } = require('./matching-hold.cjs');

void boot({ api: false, worker: true }, (module) =>
  Test.createTestingModule({ imports: [module] })
    .overrideProvider(MatchingRunProbe)
    .useFactory({ factory: (redis) => new MatchingHold(redis.client, redis.prefix), inject: [RedisService] })
    .compile(),
);
