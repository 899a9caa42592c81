/** Chart.js with only the parts the views use, registered once; animation off (instant, steady screenshots). */
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement,
  PointElement, ScatterController, Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, ScatterController, Tooltip);
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

export { Chart };
