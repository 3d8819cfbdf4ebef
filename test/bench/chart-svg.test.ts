// The benchmark's SVG charts: deterministic, well-formed, and drawn where the data says.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { axis, barChartSvg, lineChartSvg, scale, tickLabel, type LineChart } from '../../bench/chart-svg.js';

const line: LineChart = {
  title: 'first packet <p50> & p99',
  xLabel: 'other Services',
  yLabel: 'µs',
  logX: true,
  series: [
    { name: 'nftables', points: [{ x: 10, y: 100 }, { x: 1000, y: 110 }, { x: 30000, y: 105 }] },
    { name: 'iptables', points: [{ x: 10, y: 100 }, { x: 1000, y: 200 }, { x: 30000, y: 900 }] },
  ],
};

/** Every element opened is closed, in order (a small well-formedness check without a parser). */
function assertBalanced(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, []);
}

/** The polyline of the i-th series, as [x, y] pairs. */
function polyline(svg: string, i: number): [number, number][] {
  const all = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)];
  return all[i]![1]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]);
}

describe('chart-svg', () => {
  it('draws the same bytes for the same data', () => {
    assert.equal(lineChartSvg(line), lineChartSvg(structuredClone(line)));
    const bar = { title: 't', yLabel: 'ms', categories: ['1k', '10k'], series: [{ name: 'a', values: [1, 2] }] };
    assert.equal(barChartSvg(bar), barChartSvg(structuredClone(bar)));
  });

  it('is well-formed SVG with the title escaped', () => {
    const svg = lineChartSvg(line);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assertBalanced(svg);
    assert.ok(svg.includes('first packet &lt;p50&gt; &amp; p99'));
    assert.ok(!svg.includes('<p50>'));
  });

  it('puts larger values higher and later x further right', () => {
    const ipt = polyline(lineChartSvg(line), 1);
    assert.equal(ipt.length, 3);
    assert.ok(ipt[0]![0] < ipt[1]![0] && ipt[1]![0] < ipt[2]![0], 'x grows left to right');
    assert.ok(ipt[0]![1] > ipt[1]![1] && ipt[1]![1] > ipt[2]![1], 'y grows upwards (smaller SVG y)');
    const nft = polyline(lineChartSvg(line), 0);
    // Equal data, equal place: both series start at (10, 100).
    assert.deepEqual(nft[0], ipt[0]);
  });

  it('leaves out points a log axis cannot show, and missing bars', () => {
    const svg = lineChartSvg({ ...line, logY: true, series: [{ name: 'x', points: [{ x: 10, y: 0 }, { x: 100, y: 5 }, { x: 1000, y: NaN }, { x: 10000, y: 50 }] }] });
    assert.equal(polyline(svg, 0).length, 2);
    const bars = barChartSvg({ title: 't', yLabel: 'ms', categories: ['a', 'b', 'c'], series: [{ name: 's', values: [3, null, 9] }] });
    assert.equal([...bars.matchAll(/<rect x="[^"]+" y="[^"]+" width/g)].length, 2 + 1, 'two bars and one legend swatch');
    assertBalanced(bars);
  });

  it('bar heights are proportional to the values on a linear axis', () => {
    const svg = barChartSvg({ title: 't', yLabel: 'ms', categories: ['a', 'b'], series: [{ name: 's', values: [2, 8] }] });
    const heights = [...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"/g)].map((m) => Number(m[1]));
    assert.equal(heights.length, 3);
    assert.ok(Math.abs(heights[1]! / heights[0]! - 4) < 0.01, `heights ${heights.join(', ')}`);
  });

  it('axes: nice linear ticks from 0, powers of ten on log axes', () => {
    const lin = axis([0.3, 7.2], false);
    assert.equal(lin.min, 0);
    assert.ok(lin.max >= 7.2);
    assert.deepEqual(lin.ticks, [0, 2, 4, 6, 8]);
    const log = axis([12, 30000], true);
    assert.deepEqual(log.ticks, [10, 100, 1000, 10000, 100000]);
    assert.equal(scale(log, 1000, 400), 200);
    assert.deepEqual([tickLabel(1500), tickLabel(30000), tickLabel(0.25), tickLabel(2e6)], ['1.5k', '30k', '0.25', '2M']);
  });
});
