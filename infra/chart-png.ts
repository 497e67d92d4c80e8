import fs from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as echarts from 'echarts';

/**
 * A chart for a mail, as a PNG: mail clients (Gmail, Outlook) show no SVG, so the ECharts SVG drawn on the server is
 * rasterised by resvg with the DejaVu fonts (Debian's fonts-dejavu-core), the font the SVG was measured for. The
 * bytes are a pure function of the option and size, so a re-sent mail carries the same image.
 */

const FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/dejavu'];
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];

function fontFiles(): string[] {
  for (const dir of FONT_DIRS) {
    const files = FONT_FILES.map((f) => `${dir}/${f}`).filter((f) => fs.existsSync(f));
    if (files.length) return files;
  }
  return [];
}

// Okabe–Ito, as the console's charts: colour-blind safe.
export const MAIL_PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00'];

export interface PngSize {
  width: number;
  height: number;
}

/** ECharts on the server: an SVG string of exactly this option (the console's and the mail's charts). */
export function echartsSvg(option: echarts.EChartsCoreOption, size: PngSize): string {
  const chart = echarts.init(null, null, {
    renderer: 'svg',
    ssr: true,
    width: size.width,
    height: size.height,
  });
  try {
    chart.setOption(option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

export function chartSvgText(option: echarts.EChartsCoreOption, size: PngSize): string {
  return echartsSvg(
    {
      animation: false,
      color: MAIL_PALETTE,
      backgroundColor: '#ffffff',
      textStyle: { fontFamily: 'DejaVu Sans' },
      ...option,
    },
    size,
  );
}

/** Rendered at twice the size, so it stays sharp on high-density screens when shown at `size`. */
export function chartPng(option: echarts.EChartsCoreOption, size: PngSize): Buffer {
  const svg = chartSvgText(option, size);
  const files = fontFiles();
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'width', value: size.width * 2 },
    font: {
      fontFiles: files,
      loadSystemFonts: files.length === 0,
      defaultFontFamily: 'DejaVu Sans',
    },
    background: '#ffffff',
  });
  return resvg.render().asPng();
}
