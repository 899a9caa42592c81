/**
 * The names people read for the numbers the engine writes: one readable term and a one-sentence
 * meaning per field, shared by the report's glossary and the wizard's evidence table so that the
 * two never name a measurement differently. Pure data, no imports: every layer may use it.
 */

/**
 * Readable names and one-sentence meanings of every metric the report and the wizard show, keyed by the
 * field names the engine writes. A key missing here is shown under its words split apart (see
 * termFor), so a new metric never appears as a raw field name.
 */
export const METRIC_TERMS: Record<string, { term: string; meaning: string }> = {
  score: { term: 'Score', meaning: 'How unlike this model\'s own natural groups of border samples the group is: the sum of its depth, size, spread, separation, fragility, copies, duplication, contamination, held-out and learnt parts; higher is stranger.' },
  pValue: { term: 'p-value', meaning: 'The chance that a model with no backdoor has a natural group scoring at least this high anywhere (family-wise, measured on this model); small means the group is unlikely to be natural.' },
  attemptPValue: { term: 'Attempt p-value', meaning: 'The same chance for a group the model did not learn, judged on its structure alone: small means a planted group of samples the model has not (yet) learnt.' },
  falseAlarm: { term: 'False-alarm level', meaning: 'The chance the scan reports anything on a model with no backdoor; a group is reported when its p-value is at or below it.' },
  learnt: { term: 'Learnt', meaning: 'Share of the group\'s members and hull-interior points the model predicts as the members\' label: near 100% means the model learnt the group.' },
  shellPurity: { term: 'Shell purity', meaning: 'Share of the group\'s nearest outside samples that belong to the surrounding class: near 1 means the group lies deep inside that class.' },
  flipDistance: { term: 'Flip distance', meaning: 'How far from the group towards its nearest outside samples the model\'s prediction changes, as a fraction of the way: the pocket\'s radius.' },
  members: { term: 'Members', meaning: 'The training samples that form the group; a repair relabels or removes them.' },
  seeds: { term: 'Seeds', meaning: 'Training samples whose neighbours mostly carry another label: where the search for groups starts.' },
  candidates: { term: 'Candidate groups', meaning: 'Groups the search formed from the seeds and judged; most are the model\'s natural class borders.' },
  pockets: { term: 'Reported groups', meaning: 'Candidate groups whose p-value passed the false-alarm level: backdoor pockets and poisoning attempts.' },
  bestScore: { term: 'Best score', meaning: 'The highest score among a class pair\'s candidate groups.' },
  depth: { term: 'Depth', meaning: 'Score part: log-odds that the group\'s nearest outside samples belong to the surrounding class; deep inside another class is suspicious.' },
  size: { term: 'Size', meaning: 'Score part: grows with the number of members (a planted group needs several samples to move the model).' },
  contamination: { term: 'Contamination', meaning: 'Score part (and count): samples of another label inside the group\'s hull; a natural border group usually has some.' },
  fragility: { term: 'Fragility', meaning: 'Score part: how much further than this model\'s samples the members\' feature vectors move when their images are reduced to 8 levels per value, weighed by how many they are; poisons placed by a crafted perturbation move, natural samples do not.' },
  separation: { term: 'Separation', meaning: 'Score part: how much closer the members are to each other than to the samples around them, weighed by how many they are; poisons crafted towards one point form such a cluster, natural border groups do not.' },
  copies: { term: 'Copies', meaning: 'Score part: how much closer the members\' images are to each other, aligned by up to 2 pixels, than to the nearest images of other labels around them, weighed by how many they are; shifted copies of one image (label-flip poisons) score high, distinct images nothing.' },
  copiesRatio: { term: 'Copies ratio', meaning: 'The median member\'s aligned pixel distance to its nearest fellow member divided by that to its nearest images of other labels: near 0 for copies of one image; 1 when it is 0.5 or more, where the images count as distinct.' },
  copiesFound: { term: 'Copies found by image', meaning: 'Members taken in because their images are shifted copies of the group\'s own, wherever the model\'s features had put them.' },
  duplication: { term: 'Duplication', meaning: 'Score part: how much closer the members are to each other than ordinary neighbours are; copies of one image score high.' },
  spread: { term: 'Spread', meaning: 'Score part (never positive): the share of depth and size a group gives up because its members lie further apart than ordinary neighbours do; a natural style of one class written among another is spread out, planted copies and crafted poisons are not.' },
  heldOut: { term: 'Held-out support', meaning: 'Score part: trusted reference samples of the members\' label near the group lower the score, since real data of that class lives there.' },
  flipToEnclosingRate: { term: 'Flip-to-surrounding rate', meaning: 'Share of probes between the group and its shell that the model predicts as the surrounding class.' },
  meanInner: { term: 'Mean member distance', meaning: 'Average distance between members in the model\'s feature space.' },
  shellDistance: { term: 'Shell distance', meaning: 'Average distance from the group to its nearest outside samples in the model\'s feature space.' },
  driftRatio: { term: 'Squeezing drift ratio', meaning: 'How far the members\' feature vectors move when their images are reduced to 8 levels per value (the median member), divided by how far this model\'s samples usually move: well above 1 for crafted poisons.' },
  crafted: { term: 'Crafted samples', meaning: 'A class\'s most fragile training samples under squeezing, standing apart from the rest of the class (the gap below them against the class\'s own spread of drifts); reported when the family-wise p-value over every class and group size is at or below the false-alarm level. Crafted images such as clean-label poisons look like this.' },
  nearestRatio: { term: 'Nearest-neighbour ratio', meaning: 'Members\' nearest-neighbour distance divided by the class\'s usual one: near 0 for near-copies.' },
  heldOutAttacker: { term: 'Reference samples of the label', meaning: 'Trusted reference samples carrying the members\' label near the group (−1: no reference set was used).' },
  heldOutMisclassified: { term: 'Reference samples misread', meaning: 'Trusted reference samples near the group that the model misclassifies (−1: no reference set was used).' },
  disagreeing: { term: 'Outvoted members', meaning: 'Members whose neighbours\' labels outvote their own.' },
  nullGroups: { term: 'Null groups', meaning: 'Random border groups of this model the group was compared with to get its p-value.' },
  nullThreshold: { term: 'Null tail threshold', meaning: 'Score above which the null groups\' tail is modelled as exponential.' },
  nullScale: { term: 'Null tail scale', meaning: 'Scale of that exponential tail (upper 95% bound): how fast high scores become rare on a clean model.' },
  gathered: { term: 'Samples gathered', meaning: 'Samples added to the group after it was found, because they lie inside it with its label.' },
  interior: { term: 'Interior predicted as the label', meaning: 'Share of points inside the group\'s hull the model predicts as the members\' label: near 0 after a good repair.' },
  accuracy: { term: 'Held-out accuracy', meaning: 'Share of the test split the model classifies correctly.' },
  openPockets: { term: 'Open pockets', meaning: 'Backdoor pockets a scan of the model reports (after a repair: its rescan).' },
  fingerprint: { term: 'Fingerprint', meaning: 'SHA-256 over a model\'s files, or over a dataset\'s shapes, class names, labels and pixels: it names exactly one model or dataset.' },
  featureLayer: { term: 'Feature layer', meaning: 'The layer whose outputs the scan compares samples by (the input of the last Dense layer unless set).' },
  confusion: { term: 'Confusion matrix', meaning: 'Counts of test samples by true class (rows) and predicted class (columns); the diagonal is correct.' },
  sha256: { term: 'SHA-256', meaning: 'A checksum of a file\'s bytes: any change to the file changes it. Check with `sha256sum -c`.' },
};

/** A field name as words ("heldOutAttacker" → "held out attacker"), for a metric the glossary does not know. */
export function termFor(key: string): string {
  const known = METRIC_TERMS[key];
  if (known) return known.term;
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
