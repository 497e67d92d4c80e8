import * as echarts from 'echarts';
const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 600, height: 300 });
chart.setOption({
  animation: false,
  legend: {},
  title: { text: 'a<b>&"' },
  xAxis: { type: 'category', data: ['<script>x', '2026-06'] },
  yAxis: {},
  series: [{ name: 'o<"', type: 'line', data: [1, 2.5], markLine: { data: [{ yAxis: 2 }] } }],
});
const svg = chart.renderToSVGString();
console.log(
  svg.match(/style="[^"]*"/g)?.slice(0, 5),
  svg.includes('<script>'),
  svg.match(/<text[^>]*>[^<]*<\/text>/g)?.slice(0, 4),
);
