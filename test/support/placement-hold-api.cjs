// A built API process (dist/main.api.js) whose group commits of placements can be held: the
// same boot, with OrderPlacementProbe overridden through the Nest container. Needs `npm run build`.
require('reflect-metadata');
const { Test } = require('@nestjs/testing');
const { boot } = require('../../dist/bootstrap/boot');
const { RedisService } = require('../../dist/infra/redis/redis.service');
const { OrderPlacementProbe } = require('../../dist/modules/markets/order-placement-probe');
const { PlacementHold } = require('./placement-hold.cjs');

void boot({ api: true, worker: false }, undefined, async (root, adapter, options) => {
  const moduleRef = await Test.createTestingModule({ imports: [root] })
    .overrideProvider(OrderPlacementProbe)
    .useFactory({
      factory: (redis) => new PlacementHold(redis.client.duplicate(), redis.prefix),
      inject: [RedisService],
    })
    .compile();
  return moduleRef.createNestApplication(adapter, options);
});
