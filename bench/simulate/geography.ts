/**
 * Where the simulated market's data centres are: the 28 provinces and 81 cities of the article's
 * 200+ AI data-centre projects, as GB/T 2260 codes the migrations ship (provinces and cities
 * tables). Hubs of the national "East Data, West Compute" plan carry more sites, cheaper power
 * and more idle capacity; SME demand sits in the east. docs/SIMULATION.md describes the model.
 */

export type Region = 'NORTH' | 'EAST' | 'SOUTH' | 'CENTRAL' | 'SOUTHWEST' | 'NORTHWEST' | 'NORTHEAST';

export interface Province {
  readonly code: string;
  readonly name: string;
  readonly region: Region;
  /** A national computing hub: cheap power, many projects, much idle capacity. */
  readonly hub: boolean;
  /** Relative number of data-centre projects. */
  readonly sites: number;
  /** Relative SME inference demand whose buyers sit here. */
  readonly demand: number;
  /** GB/T 2260 codes of the cities sites may be in (each one in the cities table). */
  readonly cities: readonly string[];
}

export const PROVINCES: readonly Province[] = [
  { code: '110000', name: 'Beijing', region: 'NORTH', hub: false, sites: 6, demand: 14, cities: ['110100'] },
  { code: '120000', name: 'Tianjin', region: 'NORTH', hub: false, sites: 3, demand: 3, cities: ['120100'] },
  {
    code: '130000',
    name: 'Hebei',
    region: 'NORTH',
    hub: true,
    sites: 10,
    demand: 2,
    cities: ['130100', '130200', '130600', '130700', '130900', '131000'],
  },
  {
    code: '140000',
    name: 'Shanxi',
    region: 'NORTH',
    hub: false,
    sites: 4,
    demand: 1,
    cities: ['140100', '140200', '140400'],
  },
  {
    code: '150000',
    name: 'Nei Mongol',
    region: 'NORTH',
    hub: true,
    sites: 14,
    demand: 1,
    cities: ['150100', '150200', '150400', '150600', '150900'],
  },
  {
    code: '210000',
    name: 'Liaoning',
    region: 'NORTHEAST',
    hub: false,
    sites: 4,
    demand: 2,
    cities: ['210100', '210200', '210300'],
  },
  {
    code: '230000',
    name: 'Heilongjiang',
    region: 'NORTHEAST',
    hub: false,
    sites: 3,
    demand: 1,
    cities: ['230100', '230600'],
  },
  { code: '310000', name: 'Shanghai', region: 'EAST', hub: false, sites: 8, demand: 14, cities: ['310100'] },
  {
    code: '320000',
    name: 'Jiangsu',
    region: 'EAST',
    hub: false,
    sites: 9,
    demand: 9,
    cities: ['320100', '320200', '320400', '320500', '320600'],
  },
  {
    code: '330000',
    name: 'Zhejiang',
    region: 'EAST',
    hub: false,
    sites: 8,
    demand: 10,
    cities: ['330100', '330200', '330300', '330400'],
  },
  {
    code: '340000',
    name: 'Anhui',
    region: 'EAST',
    hub: true,
    sites: 7,
    demand: 3,
    cities: ['340100', '340200', '340300'],
  },
  {
    code: '350000',
    name: 'Fujian',
    region: 'EAST',
    hub: false,
    sites: 3,
    demand: 3,
    cities: ['350100', '350200', '350500'],
  },
  {
    code: '360000',
    name: 'Jiangxi',
    region: 'CENTRAL',
    hub: false,
    sites: 2,
    demand: 1,
    cities: ['360100', '360400'],
  },
  {
    code: '370000',
    name: 'Shandong',
    region: 'EAST',
    hub: false,
    sites: 6,
    demand: 4,
    cities: ['370100', '370200', '370300', '370600', '370700'],
  },
  {
    code: '410000',
    name: 'Henan',
    region: 'CENTRAL',
    hub: false,
    sites: 4,
    demand: 2,
    cities: ['410100', '410300'],
  },
  {
    code: '420000',
    name: 'Hubei',
    region: 'CENTRAL',
    hub: false,
    sites: 5,
    demand: 3,
    cities: ['420100', '420500', '420600'],
  },
  {
    code: '430000',
    name: 'Hunan',
    region: 'CENTRAL',
    hub: false,
    sites: 3,
    demand: 2,
    cities: ['430100', '430200'],
  },
  {
    code: '440000',
    name: 'Guangdong',
    region: 'SOUTH',
    hub: true,
    sites: 12,
    demand: 16,
    cities: ['440100', '440200', '440300', '440400', '440600', '441900'],
  },
  {
    code: '450000',
    name: 'Guangxi',
    region: 'SOUTH',
    hub: false,
    sites: 2,
    demand: 1,
    cities: ['450100', '450200'],
  },
  {
    code: '500000',
    name: 'Chongqing',
    region: 'SOUTHWEST',
    hub: true,
    sites: 6,
    demand: 3,
    cities: ['500100'],
  },
  {
    code: '510000',
    name: 'Sichuan',
    region: 'SOUTHWEST',
    hub: true,
    sites: 8,
    demand: 4,
    cities: ['510100', '510700', '511800'],
  },
  {
    code: '520000',
    name: 'Guizhou',
    region: 'SOUTHWEST',
    hub: true,
    sites: 16,
    demand: 1,
    cities: ['520100', '520300', '520400'],
  },
  {
    code: '530000',
    name: 'Yunnan',
    region: 'SOUTHWEST',
    hub: false,
    sites: 2,
    demand: 1,
    cities: ['530100', '530300'],
  },
  {
    code: '610000',
    name: 'Shaanxi',
    region: 'NORTHWEST',
    hub: false,
    sites: 4,
    demand: 2,
    cities: ['610100', '610400'],
  },
  {
    code: '620000',
    name: 'Gansu',
    region: 'NORTHWEST',
    hub: true,
    sites: 10,
    demand: 1,
    cities: ['620100', '620200', '621000'],
  },
  {
    code: '630000',
    name: 'Qinghai',
    region: 'NORTHWEST',
    hub: false,
    sites: 3,
    demand: 0,
    cities: ['630100', '630200'],
  },
  {
    code: '640000',
    name: 'Ningxia',
    region: 'NORTHWEST',
    hub: true,
    sites: 12,
    demand: 0,
    cities: ['640100', '640200', '640500'],
  },
  {
    code: '650000',
    name: 'Xinjiang',
    region: 'NORTHWEST',
    hub: false,
    sites: 4,
    demand: 0,
    cities: ['650100', '650200', '650500'],
  },
];

export const PROVINCE_BY_CODE: ReadonlyMap<string, Province> = new Map(PROVINCES.map((p) => [p.code, p]));

/** Province name for a code (the code itself when it is not one of the 28). */
export function provinceName(code: string): string {
  return PROVINCE_BY_CODE.get(code)?.name ?? code;
}
