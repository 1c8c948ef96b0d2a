/**
 * The one shape every edge target follows (the knip model: plugins made from one template). A
 * target says why it cannot express a rule ({@link EdgeTargetShape.refuse}), turns each rule it can
 * express into its own model ({@link EdgeTargetShape.translate}), and writes files from those
 * ({@link EdgeTargetShape.render}). The loop over rules, dividing limits among instances, the
 * report rows and their labels are written once, in `plan-target.ts`.
 */
import type { CounterScope, EdgeContext, EdgeFile, EdgeTarget, RateLimitRule } from './model.js';

/** What the report says about one translated rule; the planner adds target, scope and fleet bound. */
export interface RowFields {
  /** The setting emitted, as it appears in the output. */
  readonly setting: string;
  /** Why the setting is approximated; the planner adds division and tolerance reasons. */
  readonly reasons?: readonly string[];
  /** Facts that hold even when exact: algorithm shape, prerequisites. */
  readonly notes?: readonly string[];
  /** Most requests one client gets through one counter within any span of the rule's window. */
  readonly worstCasePerWindow: number;
  /** Requests one client gets through at once, from idle, on one counter. */
  readonly burstAtOnce: number;
}

/** The least a target's model of one rule carries; each target extends it with its own fields. */
export interface TranslatedRule {
  /** The rule as one counter of this target enforces it (divided among instances when asked). */
  readonly rule: RateLimitRule;
  /** Its report row. */
  readonly row: RowFields;
}

/** What every step of a target sees: the site, every rule as written, and the target's survey. */
export interface TargetContext<Survey> extends EdgeContext {
  /** Every rule as written (not divided among instances), in file order. */
  readonly rules: readonly RateLimitRule[];
  /** What {@link EdgeTargetShape.survey} found; undefined for a target without one. */
  readonly survey: Survey;
}

/** What {@link EdgeTargetShape.refuse} and {@link EdgeTargetShape.translate} see for one rule. */
export interface RuleContext<Survey, Translated> extends TargetContext<Survey> {
  /** The rules translated before this one, in order (stick-counter slots, priorities, routes taken). */
  readonly earlier: readonly Translated[];
}

/** What {@link EdgeTargetShape.render} returns. */
export interface RenderedTarget {
  /** Files to write, relative to the output directory. */
  readonly files: readonly EdgeFile[];
  /** Target-wide remarks for the report (how to apply, a retired project, a setting to add elsewhere). */
  readonly notes: readonly string[];
}

/**
 * One edge target (or one variant of it: Envoy writes a local and a global configuration). Pure:
 * no step does I/O.
 *
 * @example
 * ```ts
 * export const exampleTarget: EdgeTargetShape<ExampleRule> = {
 *   target: 'nginx',
 *   counterScope: 'per instance',
 *   refuse: (rule) => (rule.action === 'log' ? ['no log-only mode'] : []),
 *   translate: (rule) => ({ rule, line: `limit ${rule.limit}`, row: { setting: …, worstCasePerWindow: …, burstAtOnce: … } }),
 *   render: (translated) => ({ files: [{ path: 'x.conf', content: translated.map((t) => t.line).join('\n') }], notes: [] }),
 * };
 * ```
 */
export interface EdgeTargetShape<Translated extends TranslatedRule = TranslatedRule, Survey = unknown> {
  readonly target: EdgeTarget;
  /** Names the configuration when a target writes more than one (Envoy `local` and `global`). */
  readonly variant?: string;
  /**
   * Where this target's counters live. Every scope but `global` gets the rule divided among
   * instances when the site asks for it, and multiplies the fleet bound by the instances.
   */
  readonly counterScope: CounterScope;
  /**
   * Facts about the whole rule set that single rules depend on: one reject status per policy or
   * controller, nginx's locations. Runs once, on the rules as written, before any rule is refused.
   */
  survey?(rules: readonly RateLimitRule[], context: EdgeContext): Survey;
  /**
   * Why the target cannot express `rule` (the rule as one counter enforces it); empty when it can.
   * A refused rule gets a refused row with these reasons and is left out of the files.
   */
  refuse(rule: RateLimitRule, context: RuleContext<Survey, Translated>): readonly string[];
  /** The target's own model of a rule {@link EdgeTargetShape.refuse} accepted, with its report row. */
  translate(rule: RateLimitRule, context: RuleContext<Survey, Translated>): Translated;
  /** The files for every translated rule, in rule order (possibly none), and the target's notes. */
  render(translated: readonly Translated[], context: TargetContext<Survey>): RenderedTarget;
}
