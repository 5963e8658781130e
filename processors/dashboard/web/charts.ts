/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Chart.js, registered with only the parts the views use (so the bundle stays small), and one
 * helper per chart shape. Values are integer cents or counts; axes and tooltips format them.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { formatCount, formatMoney, formatShare } from './format.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

export const Unit = { Money: 'money', Count: 'count', Share: 'share', Ratio: 'ratio' } as const;
export type Unit = (typeof Unit)[keyof typeof Unit];

const PALETTE = [
  '#2f6fdb',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#9c755f',
  '#bab0ac',
];

function formatter(unit: Unit): (value: number) => string {
  switch (unit) {
    case Unit.Money:
      return (value) => formatMoney(Math.round(value));
    case Unit.Share:
      return (value) => formatShare(value);
    case Unit.Ratio:
      return (value) => value.toFixed(2);
    default:
      return (value) => formatCount(Math.round(value * 100) / 100);
  }
}

export interface Series {
  readonly label: string;
  readonly data: readonly number[];
  readonly unit: Unit;
  /** Draw as a line on the right axis (a second unit). */
  readonly line?: boolean;
  /** One colour per bar (holidays, best/worst); the series colour otherwise. */
  readonly colors?: readonly string[];
}

const charts: Chart[] = [];

/** Destroys the charts of the previous render. */
export function destroyCharts(): void {
  for (const chart of charts.splice(0)) chart.destroy();
}

/**
 * A bar chart (stacked when asked; horizontal when asked), with an optional line series on a
 * right-hand axis.
 */
export function barChart(
  canvasId: string,
  labels: readonly string[],
  series: readonly Series[],
  options: { readonly stacked?: boolean; readonly horizontal?: boolean } = {},
): void {
  const canvas = document.getElementById(canvasId);
  if (!(canvas instanceof HTMLCanvasElement)) return;
  const left = series.find((entry) => !entry.line)?.unit ?? Unit.Count;
  const right = series.find((entry) => entry.line)?.unit;
  const valueAxis = options.horizontal ? 'x' : 'y';
  const scales: Record<string, object> = {
    [valueAxis]: {
      stacked: options.stacked ?? false,
      beginAtZero: true,
      ticks: { callback: (value: number | string) => formatter(left)(Number(value)) },
    },
    [options.horizontal ? 'y' : 'x']: { stacked: options.stacked ?? false },
  };
  if (right !== undefined) {
    scales['y1'] = {
      position: 'right',
      beginAtZero: true,
      grid: { drawOnChartArea: false },
      ticks: { callback: (value: number | string) => formatter(right)(Number(value)) },
    };
  }
  charts.push(
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: [...labels],
        datasets: series.map((entry, index) => {
          const color = PALETTE[index % PALETTE.length]!;
          return entry.line
            ? {
                type: 'line' as const,
                label: entry.label,
                data: [...entry.data],
                borderColor: color,
                backgroundColor: color,
                yAxisID: 'y1',
                pointRadius: 2,
              }
            : {
                type: 'bar' as const,
                label: entry.label,
                data: [...entry.data],
                backgroundColor: entry.colors ? [...entry.colors] : color,
              };
        }),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: options.horizontal ? 'y' : 'x',
        scales,
        plugins: {
          legend: { display: series.length > 1 },
          tooltip: {
            callbacks: {
              label: (item) => {
                const entry = series[item.datasetIndex];
                const value = Number(item.raw);
                return `${entry?.label ?? ''}: ${formatter(entry?.unit ?? Unit.Count)(value)}`;
              },
            },
          },
        },
      },
    }),
  );
}
