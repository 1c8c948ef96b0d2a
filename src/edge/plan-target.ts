import type { EdgeContext, RateLimitRule, ReportRow, TargetPlan } from './model.js';
import { counterRule, labelRow, refusedRow, reportRow, shareRefusal } from './report-row.js';
import type { EdgeTargetShape, RenderedTarget, TranslatedRule } from './target-shape.js';

/**
 * Plans one target from its shapes (one, or one per variant): every rule gets one labelled report
 * row per shape, in rule order, refused with a reason rather than dropped. The only loop over
 * rules; targets only refuse, translate and render.
 */
export function planTarget(
  shapes: readonly EdgeTargetShape[],
  rules: readonly RateLimitRule[],
  context: EdgeContext,
): TargetPlan {
  const parts = shapes.map((shape) => planShape(shape, rules, context));
  return {
    target: shapes[0]!.target,
    files: parts.flatMap((part) => part.files),
    // Rule by rule, each variant's row in turn (Envoy: local, then global).
    rows: rules.flatMap((_, index) => parts.map((part) => part.rows[index]!)),
    notes: parts.flatMap((part) => part.notes),
  };
}

function planShape<Translated extends TranslatedRule, Survey>(
  shape: EdgeTargetShape<Translated, Survey>,
  rules: readonly RateLimitRule[],
  context: EdgeContext,
): RenderedTarget & { rows: ReportRow[] } {
  const { target, variant, counterScope } = shape;
  const targetContext = {
    ...context,
    rules,
    survey: shape.survey ? shape.survey(rules, context) : (undefined as Survey),
  };
  const translated: Translated[] = [];
  const rows = rules.map((original) => {
    // A global counter is one for the whole fleet: it enforces the rule as written.
    const rule = counterScope === 'global' ? original : counterRule(original, context);
    if (!rule) return refusedRow(original, target, [shareRefusal(original, context)], variant);
    // `earlier` is read during the call only, so the growing list itself is passed.
    const ruleContext = { ...targetContext, earlier: translated };
    const reasons = shape.refuse(rule, ruleContext);
    if (reasons.length > 0) return refusedRow(rule, target, reasons, variant);
    const translation = shape.translate(rule, ruleContext);
    translated.push(translation);
    const row = reportRow(rule, target, context, {
      ...translation.row,
      ...(variant !== undefined ? { variant } : {}),
      counterScope,
    });
    return labelRow(row, original, context);
  });
  return { ...shape.render(translated, targetContext), rows };
}
