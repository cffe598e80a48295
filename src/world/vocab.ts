// The world's closed vocabulary: colours with their RGB values, shapes, sizes, positions,
// backgrounds, sign words, nonce words, people, cities and the facts landmarks can have.
// Everything the generators say is built from these lists (plus generated landmark names and
// numbers), so a byte-level BPE trained on the corpus sees a small, lower-case vocabulary.

export type Rgb = readonly [number, number, number];

/** Object colours: distinct hues, far apart in RGB. */
export const COLOURS = {
  red: [220, 40, 40],
  green: [40, 170, 60],
  blue: [40, 80, 220],
  yellow: [240, 210, 40],
  purple: [140, 60, 180],
  orange: [245, 140, 30],
  white: [250, 250, 250],
  black: [20, 20, 20],
  pink: [245, 130, 190],
  brown: [130, 80, 40],
} as const satisfies Record<string, Rgb>;
export type ColourName = keyof typeof COLOURS;
export const COLOUR_NAMES = Object.keys(COLOURS) as ColourName[];

export const SHAPE_NAMES = ["circle", "square", "triangle", "diamond", "cross", "ring", "star"] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];
/** Plural forms (all regular, kept explicit so captions never guess). */
export const SHAPE_PLURALS: Record<ShapeName, string> = {
  circle: "circles",
  square: "squares",
  triangle: "triangles",
  diamond: "diamonds",
  cross: "crosses",
  ring: "rings",
  star: "stars",
};
/** Facts about shapes for the text corpus and the multiple-choice test. */
export const SHAPE_FACTS: Record<ShapeName, { corners: number; round: boolean }> = {
  circle: { corners: 0, round: true },
  square: { corners: 4, round: false },
  triangle: { corners: 3, round: false },
  diamond: { corners: 4, round: false },
  cross: { corners: 12, round: false },
  ring: { corners: 0, round: true },
  star: { corners: 10, round: false },
};

/** Object sizes as a fraction of the image side (radius). */
export const SIZES = { small: 0.065, medium: 0.1, large: 0.145 } as const;
export type SizeName = keyof typeof SIZES;
export const SIZE_NAMES = Object.keys(SIZES) as SizeName[];

/** 3x3 regions of the image, row-major, named as people would. */
export const REGION_NAMES = [
  "top left",
  "top",
  "top right",
  "left",
  "center",
  "right",
  "bottom left",
  "bottom",
  "bottom right",
] as const;
export type RegionName = (typeof REGION_NAMES)[number];

/** Background settings (base colour) and textures. */
export const SETTINGS = {
  sand: [214, 194, 146],
  sky: [150, 192, 232],
  grass: [112, 160, 92],
  stone: [142, 142, 142],
  night: [38, 44, 72],
  snow: [232, 234, 240],
  brick: [166, 96, 76],
  water: [64, 112, 160],
} as const satisfies Record<string, Rgb>;
export type SettingName = keyof typeof SETTINGS;
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];
export const TEXTURE_NAMES = ["plain", "gradient", "striped", "checkered", "speckled"] as const;
export type TextureName = (typeof TEXTURE_NAMES)[number];

export const NUMBER_WORDS = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
];

/** Words written on signs (the OCR analogue); numbers are added at random. */
export const SIGN_WORDS = [
  "stop",
  "open",
  "cafe",
  "bank",
  "park",
  "exit",
  "sale",
  "hotel",
  "bus",
  "taxi",
  "shop",
  "gate",
  "road",
  "zoo",
  "inn",
  "post",
  "farm",
  "mill",
  "port",
  "fish",
  "bread",
  "tea",
  "books",
  "music",
  "north",
  "south",
  "east",
  "west",
  "slow",
  "left",
  "right",
  "up",
  "down",
  "hello",
  "welcome",
  "closed",
  "free",
  "train",
  "boat",
  "lamp",
  "kids",
  "art",
  "food",
  "milk",
  "rain",
  "sun",
  "star",
  "moon",
] as const;

/** Nonce words for in-context bindings: never given a fixed meaning anywhere. */
export const NONCE_WORDS = [
  "dax",
  "wug",
  "fep",
  "blick",
  "toma",
  "zup",
  "kiki",
  "bouba",
  "lorp",
  "mip",
  "tazzy",
  "gorp",
  "vek",
  "nim",
  "plon",
  "skiv",
  "yarp",
  "quib",
  "frell",
  "dop",
  "jeb",
  "wix",
  "tulv",
  "snerk",
  "glim",
  "prav",
  "zorn",
  "hib",
  "kesh",
  "mulp",
  "rond",
  "tiv",
  "blen",
  "craw",
  "dusk",
  "fim",
] as const;

export const PEOPLE = [
  "ana",
  "ben",
  "cara",
  "dev",
  "eli",
  "finn",
  "gia",
  "hugo",
  "ida",
  "jon",
  "kai",
  "lena",
  "milo",
  "nora",
  "omar",
  "pia",
  "remi",
  "sara",
  "tom",
  "vera",
] as const;

/** Cities, things landmarks are known for, materials and landmark kinds: the facts of the world. */
export const CITIES = [
  "arlen",
  "brisa",
  "corvo",
  "delma",
  "estor",
  "farro",
  "galen",
  "hollin",
  "istra",
  "jorva",
  "kelso",
  "lumen",
  "marro",
  "norde",
  "ostra",
  "pella",
] as const;
export const KNOWN_FOR = [
  "bells",
  "gardens",
  "music",
  "clocks",
  "bread",
  "silk",
  "lanterns",
  "paintings",
  "birds",
  "glass",
  "boats",
  "horses",
  "tea",
  "books",
  "masks",
  "kites",
] as const;
export const MATERIALS = ["stone", "wood", "marble", "brick", "iron", "glass", "clay", "gold"] as const;
export const LANDMARK_TYPES = [
  "tower",
  "bridge",
  "temple",
  "fountain",
  "gate",
  "castle",
  "garden",
  "statue",
  "market",
  "lighthouse",
] as const;
/** Regions cities lie in (encyclopedia filler). */
export const LANDS = ["the north", "the south", "the east", "the west", "the hills", "the valley"] as const;

/** Syllables for generated landmark names (kept apart from the nonce words by a check). */
export const NAME_ONSETS = [
  "b",
  "d",
  "f",
  "g",
  "k",
  "l",
  "m",
  "n",
  "p",
  "r",
  "s",
  "t",
  "v",
  "z",
  "br",
  "tr",
  "sk",
  "dr",
];
export const NAME_VOWELS = ["a", "e", "i", "o", "u"];
export const NAME_CODAS = ["", "", "n", "r", "l", "s"];

/** Perceived brightness in [0, 255], for contrast checks. */
export function luma(c: Rgb): number {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

/** Euclidean RGB distance. */
export function rgbDistance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}
