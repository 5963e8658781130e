/**
 * The chain's menu as data: categories, named items with unit prices in cents, and the option
 * groups a line of each category can carry. Names are pre-encoded for CSV once, here.
 */
import { csvField } from './csv.js';

/** One priced choice inside an option group. */
export interface MenuOption {
  readonly name: string;
  /** ≥ 0; discounts are not menu options (see `promotions`). */
  readonly priceCents: number;
}

export interface OptionGroup {
  readonly name: string;
  readonly options: readonly MenuOption[];
}

export interface MenuItem {
  readonly name: string;
  readonly priceCents: number;
  /** Relative popularity inside its category. */
  readonly weight: number;
}

export interface MenuCategory {
  readonly name: string;
  /** Relative share of lines outside breakfast hours. */
  readonly weight: number;
  /** Relative share of lines in breakfast hours (05–10 local). */
  readonly breakfastWeight: number;
  readonly items: readonly MenuItem[];
  /** Option groups a line of this category may carry, at most one option per group. */
  readonly optionGroups: readonly OptionGroup[];
}

const size: OptionGroup = {
  name: 'Size',
  options: [
    { name: 'Regular', priceCents: 0 },
    { name: 'Large', priceCents: 150 },
    { name: 'Small', priceCents: 0 },
  ],
};
const extras: OptionGroup = {
  name: 'Extras',
  options: [
    { name: 'Extra Cheese', priceCents: 75 },
    { name: 'Bacon', priceCents: 150 },
    { name: 'Avocado', priceCents: 125 },
    { name: 'Fried Egg', priceCents: 100 },
  ],
};
const sauce: OptionGroup = {
  name: 'Sauce',
  options: [
    { name: 'Ranch', priceCents: 0 },
    { name: 'BBQ', priceCents: 0 },
    { name: 'Honey Mustard', priceCents: 0 },
    { name: 'Buffalo', priceCents: 25 },
  ],
};
const drinkSize: OptionGroup = {
  name: 'Drink Size',
  options: [
    { name: 'Medium', priceCents: 50 },
    { name: 'Large', priceCents: 100 },
    { name: 'Small', priceCents: 0 },
  ],
};
const milk: OptionGroup = {
  name: 'Milk',
  options: [
    { name: 'Whole', priceCents: 0 },
    { name: 'Oat', priceCents: 70 },
    { name: 'Almond', priceCents: 70 },
  ],
};
const dressing: OptionGroup = {
  name: 'Dressing',
  options: [
    { name: 'Caesar', priceCents: 0 },
    { name: 'Balsamic', priceCents: 0 },
    { name: 'Extra Dressing', priceCents: 50 },
  ],
};

/** The menu every location sells (prices are the chain's list prices). */
export const menu: readonly MenuCategory[] = [
  {
    name: 'Burgers',
    weight: 22,
    breakfastWeight: 3,
    items: [
      { name: 'Classic Burger', priceCents: 899, weight: 30 },
      { name: 'Cheeseburger', priceCents: 949, weight: 28 },
      { name: 'Bacon BBQ Burger', priceCents: 1149, weight: 16 },
      { name: 'Double Smash Burger', priceCents: 1249, weight: 12 },
      { name: 'Veggie Burger', priceCents: 999, weight: 8 },
      { name: 'Mushroom Swiss Burger', priceCents: 1099, weight: 6 },
    ],
    optionGroups: [extras, sauce],
  },
  {
    name: 'Chicken',
    weight: 16,
    breakfastWeight: 3,
    items: [
      { name: 'Crispy Chicken Sandwich', priceCents: 949, weight: 30 },
      { name: 'Spicy Chicken Sandwich', priceCents: 999, weight: 22 },
      { name: 'Chicken Tenders (4 pc)', priceCents: 849, weight: 26 },
      { name: 'Chicken Tenders (6 pc)', priceCents: 1149, weight: 14 },
      { name: 'Grilled Chicken Wrap', priceCents: 899, weight: 8 },
    ],
    optionGroups: [sauce, extras],
  },
  {
    name: 'Salads',
    weight: 6,
    breakfastWeight: 1,
    items: [
      { name: 'Caesar Salad', priceCents: 899, weight: 40 },
      { name: 'Cobb Salad', priceCents: 1199, weight: 30 },
      { name: 'Garden Salad', priceCents: 749, weight: 30 },
    ],
    optionGroups: [dressing, extras],
  },
  {
    name: 'Sides',
    weight: 20,
    breakfastWeight: 6,
    items: [
      { name: 'Fries', priceCents: 349, weight: 45 },
      { name: 'Sweet Potato Fries', priceCents: 449, weight: 18 },
      { name: 'Onion Rings', priceCents: 449, weight: 15 },
      { name: 'Mac & Cheese', priceCents: 499, weight: 12 },
      { name: 'Side Salad', priceCents: 399, weight: 10 },
    ],
    optionGroups: [size, sauce],
  },
  {
    name: 'Breakfast',
    weight: 2,
    breakfastWeight: 40,
    items: [
      { name: 'Egg & Cheese Biscuit', priceCents: 499, weight: 30 },
      { name: 'Bacon Egg & Cheese Bagel', priceCents: 649, weight: 25 },
      { name: 'Breakfast Burrito', priceCents: 749, weight: 20 },
      { name: 'Pancake Stack', priceCents: 699, weight: 15 },
      { name: 'Hash Browns', priceCents: 249, weight: 10 },
    ],
    optionGroups: [extras, sauce],
  },
  {
    name: 'Drinks',
    weight: 20,
    breakfastWeight: 30,
    items: [
      { name: 'Fountain Soda', priceCents: 249, weight: 40 },
      { name: 'Iced Tea', priceCents: 249, weight: 15 },
      { name: 'Lemonade', priceCents: 299, weight: 12 },
      { name: 'Coffee', priceCents: 229, weight: 15 },
      { name: 'Latte', priceCents: 449, weight: 8 },
      { name: 'Bottled Water', priceCents: 199, weight: 6 },
      { name: 'Cup of Water', priceCents: 0, weight: 4 },
    ],
    optionGroups: [drinkSize, milk],
  },
  {
    name: 'Desserts',
    weight: 7,
    breakfastWeight: 2,
    items: [
      { name: 'Chocolate Shake', priceCents: 549, weight: 30 },
      { name: 'Vanilla Shake', priceCents: 549, weight: 25 },
      { name: 'Chocolate Chip Cookie', priceCents: 199, weight: 30 },
      { name: 'Apple Pie', priceCents: 299, weight: 15 },
    ],
    optionGroups: [size],
  },
  {
    name: 'Sauces',
    weight: 5,
    breakfastWeight: 2,
    items: [
      { name: 'Ketchup Packet', priceCents: 0, weight: 40 },
      { name: 'Ranch Cup', priceCents: 0, weight: 25 },
      { name: 'Signature Sauce', priceCents: 50, weight: 20 },
      { name: 'Extra BBQ Cup', priceCents: 0, weight: 15 },
    ],
    optionGroups: [],
  },
  {
    name: 'Kids',
    weight: 2,
    breakfastWeight: 1,
    items: [
      { name: 'Kids Burger Meal', priceCents: 599, weight: 50 },
      { name: 'Kids Tenders Meal', priceCents: 599, weight: 50 },
    ],
    optionGroups: [drinkSize],
  },
];

/** A discount a promotion puts on one line: a negative option. */
export interface Promotion {
  readonly groupName: string;
  readonly optionName: string;
  /** Share of the line's price taken off (0–1), or 0 when `fixedCents` applies. */
  readonly percentOff: number;
  /** Cents taken off, capped at the line's price. */
  readonly fixedCents: number;
}

/** The promotions a discounting location runs. */
export const promotions: readonly Promotion[] = [
  { groupName: 'Promo', optionName: '10% off', percentOff: 0.1, fixedCents: 0 },
  { groupName: 'Promo', optionName: '$2 off', percentOff: 0, fixedCents: 200 },
  { groupName: 'Loyalty Reward', optionName: '20% off', percentOff: 0.2, fixedCents: 0 },
  { groupName: 'Coupon', optionName: 'Free Side', percentOff: 0, fixedCents: 349 },
];

/** CSV-ready text of a menu string, memoised: menu names repeat on every row. */
const encoded = new Map<string, string>();
export function encodedText(text: string): string {
  let field = encoded.get(text);
  if (field === undefined) {
    field = csvField(text);
    encoded.set(text, field);
  }
  return field;
}
