import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import type { Sql } from '../../src/db/client'

/** One node of an executed plan; rows and rows removed by its filter are summed over its loops. */
export interface PlanNode {
  type: string
  relation: string | undefined
  index: string | undefined
  rows: number
  removed: number
}

/** Every node of an executed plan (EXPLAIN's JSON), depth first. */
function nodesOf(plan: any): PlanNode[] {
  const nodes: PlanNode[] = []
  const walk = (node: any) => {
    const loops = node['Actual Loops'] ?? 0
    nodes.push({
      type: node['Node Type'],
      relation: node['Relation Name'],
      index: node['Index Name'],
      rows: (node['Actual Rows'] ?? 0) * loops,
      removed: (node['Rows Removed by Filter'] ?? 0) * loops,
    })
    for (const child of node.Plans ?? []) walk(child)
  }
  walk(plan)
  return nodes
}

/**
 * Runs the statement of `file` (a path under sql/) with `values` as a connection that keeps its plans runs
 * it: prepared, planned generic (the plan a connection keeps whatever the parameters), under EXPLAIN
 * ANALYZE. Returns every node of the executed plan; whatever the statement wrote is undone.
 */
export async function executedPlan(sql: Sql, file: string, values: unknown[]): Promise<PlanNode[]> {
  const text = readFileSync(join(import.meta.dir, '../../sql', file), 'utf8')
  const literal = values.map((v) => (v === null ? 'null' : typeof v === 'number' ? String(v) : `'${v}'`)).join(', ')
  return sql
    .begin(async (tx) => {
      await tx.unsafe('set local plan_cache_mode = force_generic_plan')
      await tx.unsafe(`prepare planned as ${text}`)
      const [row] = await tx.unsafe(`explain (analyze, format json) execute planned${literal ? `(${literal})` : ''}`)
      await tx.unsafe('deallocate planned') // a prepared statement outlives its transaction
      throw Object.assign(new Error('undo the statement'), { nodes: nodesOf(row!['QUERY PLAN'][0].Plan) })
    })
    .catch((e) => (e as { nodes?: PlanNode[] }).nodes ?? Promise.reject(e))
}

/** The scans of `relation` in a plan. */
export const scansOf = (nodes: PlanNode[], relation: string) => nodes.filter((n) => n.relation === relation && n.type.endsWith('Scan'))

/** One statement a function ran, as auto_explain saw it: its text and every node of its executed plan. */
export interface NestedPlan {
  text: string
  nodes: PlanNode[]
}

/**
 * Runs `call` (a call of a plpgsql function) on a connection of its own with auto_explain on, and returns
 * the executed plan of every statement the function ran, as that function plans them (its own SET
 * clauses included). Whatever it wrote is undone. For the statements inside functions, which
 * executedPlan cannot prepare from a file.
 */
export async function plansInside(url: string, call: string): Promise<NestedPlan[]> {
  const plans: NestedPlan[] = []
  const sql = postgres(url, {
    max: 1,
    onnotice: (notice) => {
      const text = String(notice.message)
      const start = text.indexOf('{')
      if (!text.startsWith('duration:') || start < 0) return
      const plan = JSON.parse(text.slice(start))
      plans.push({ text: plan['Query Text'], nodes: nodesOf(plan.Plan) })
    },
  })
  try {
    await sql
      .begin(async (tx) => {
        await tx.unsafe("load 'auto_explain'")
        await tx.unsafe(
          'set local auto_explain.log_min_duration = 0; set local auto_explain.log_nested_statements = on; ' +
            "set local auto_explain.log_analyze = on; set local auto_explain.log_format = 'json'; set local auto_explain.log_level = 'notice'",
        )
        await tx.unsafe(call)
        throw new Error('undo the call')
      })
      .catch((e) => ((e as Error).message === 'undo the call' ? undefined : Promise.reject(e)))
  } finally {
    await sql.end()
  }
  return plans
}
