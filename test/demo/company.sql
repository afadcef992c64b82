-- company.sql: the indicator system of 华夏家电 (Huaxia Appliances), a Chinese
-- maker and retailer of home appliances, with two years of monthly data.
--
--   * 41 indicators in three layers: strategy (5 roots), tactics, execution,
--     linked with weights into an indicator tree (指标树); three indicators
--     have two parents.  One more, unplanned line stops, has no target and
--     is watched by an anomaly rule.
--   * scopes: hq > hq.east (hq.east.shanghai, hq.east.hangzhou), hq.south, hq.north.
--   * measurements for every month of 2025 and 2026, at month end, per
--     branch and region (R&D launches only at hq), except revenue, orders
--     and the complaint rate of 2026: those are computed from the business's
--     own tables (schema shop: orders, order lines, service tickets) by one
--     executable definition each (kpi.set_source, kpi.refresh), day by
--     day; 2025 was loaded by hand, before the order system went live;
--     targets for 2026 by month,
--     quarter and year for every region, branch and the company.  Snapshots
--     (headcount, inventory: agg 'last') are recorded per branch and region
--     only; kpi adds them up for hq.east and hq.
--
-- Everything is computed from formulas (seasonality, regional bias and trend,
-- a few incidents), never random(), so every load gives the same numbers:
--   2026-04..05  hq.north         supplier outage: supply, manufacturing, sales suffer
--   2026-05      hq.east.hangzhou compressor batch defect: defects, complaints, CSAT
--   2026-08      hq.south         typhoon: logistics, delivery, store sales
--
-- Load it after CREATE EXTENSION kpi:   \i test/demo/company.sql
-- Every name is schema-qualified, so no search_path is needed.  The
-- company's time zone is a setting of the database (kpi.setting): every
-- measurement falls into the day and month of its time in Shanghai,
-- whatever the loading session's TimeZone (set here only so that the
-- generator's dates read as local ones).

SET timezone = 'Asia/Shanghai';

BEGIN;
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai')
ON CONFLICT (name) DO UPDATE SET value = excluded.value;
-- The generator's temporary tables have no statistics; their huge row
-- estimates would make the planner JIT-compile small queries for nothing.
SET LOCAL jit = off;

-- ---------------------------------------------------------------------
-- Organisation (kpi.scope): company > region > branch
-- ---------------------------------------------------------------------
INSERT INTO kpi.scope (code, name) VALUES ('hq', '华夏家电集团');
INSERT INTO kpi.scope (code, name, parent_id)
SELECT v.code, v.name, p.id
FROM (VALUES ('hq.east',          '华东大区',   'hq'),
             ('hq.south',         '华南大区',   'hq'),
             ('hq.north',         '华北大区',   'hq')) v(code, name, parent)
JOIN kpi.scope p ON p.code = v.parent;
INSERT INTO kpi.scope (code, name, parent_id)
SELECT v.code, v.name, p.id
FROM (VALUES ('hq.east.shanghai', '上海分公司', 'hq.east'),
             ('hq.east.hangzhou', '杭州分公司', 'hq.east')) v(code, name, parent)
JOIN kpi.scope p ON p.code = v.parent;

-- ---------------------------------------------------------------------
-- The dictionary (kpi.indicator): one agreed definition (口径) per code.
-- Ratio indicators are stored as fractions (unit '%': shown times 100).
-- ---------------------------------------------------------------------
INSERT INTO kpi.indicator (code, name, unit, agg, bands, owner, description, definition) VALUES
-- strategy: the five things the board looks at
('strategy.revenue_growth', '营业收入同比增长率', '%', 'ratio', 'amber 0.7, green 0.95, blue 1.2', '总经理 陈建国',
 '公司战略第一目标：规模增长。',
 '（本期营业收入 − 上年同期营业收入）÷ 上年同期营业收入。按月记录分子（增量）与分母（上年同期收入），任意期间与区域按分子、分母分别汇总后相除。'),
('strategy.profit', '盈利能力', NULL, 'sum', 'amber 0.9, green 0.97, blue 1.1', '财务总监 周敏',
 '战略目标：有质量的增长。由毛利率、费用率、回款和人效加权评分，自身不记录数值。', NULL),
('strategy.customer', '客户价值', NULL, 'sum', 'amber 0.9, green 0.97, blue 1.1', '客服中心 吴婷',
 '战略目标：让用户满意并复购。由满意度、客诉率和复购率加权评分，自身不记录数值。', NULL),
('strategy.operations', '运营效率', NULL, 'sum', 'amber 0.9, green 0.97, blue 1.1', '供应链中心 何涛',
 '战略目标：准时、低库存、高效率的供应与制造。由准时交付、库存和设备效率加权评分。', NULL),
('strategy.people', '组织能力', NULL, 'sum', 'amber 0.9, green 0.97, blue 1.1', '人力资源部 林芳',
 '战略目标：稳定、敬业、高效的团队。由编制、流失率和人效加权评分。', NULL),

-- tactics
('sales.revenue', '营业收入', '万元', 'sum', 'amber 0.9, green 0.98, blue 1.1', '销售中心 王磊',
 '财务口径的含税前营业收入。',
 '已开票并确认收入的销售额（不含税），= 门店零售 + 线上电商 + 工程渠道；退货冲减当月。'),
('sales.orders', '订单量', '单', 'sum', 'amber 0.9, green 0.98, blue 1.1', '销售中心 王磊',
 '所有渠道的有效订单数。',
 '支付成功且未在 24 小时内取消的订单数，按支付时间计入当月；一单多件计 1 单。'),
('market.new_customers', '新增会员数', '人', 'sum', 'amber 0.85, green 0.97, blue 1.1', '市场部 刘洋',
 '首次下单的新会员。',
 '当期首次完成支付的会员数（按手机号去重），老会员换号不计。'),
('market.new_product_share', '新品收入占比', '%', 'ratio', 'amber 0.85, green 0.97, blue 1.1', '研发中心 孙伟',
 '上市 12 个月内新品的收入贡献。',
 '上市未满 12 个月的 SKU 的营业收入 ÷ 营业收入。'),
('finance.gross_margin', '毛利率', '%', 'ratio', 'amber 0.5, green 0.95, blue 1.3', '财务总监 周敏',
 '产品毛利水平。目标从去年的 28% 提升到 30%。',
 '（营业收入 − 营业成本）÷ 营业收入；营业成本含物料、制造费用与返利，不含物流费用。'),
('finance.expense_ratio', '销售费用率', '%', 'ratio', 'amber 0.9, green 0.98, blue 1.05', '财务总监 周敏',
 '销售与市场费用占收入的比例，越低越好。',
 '（销售费用 + 市场费用 + 物流费用）÷ 营业收入，费用按权责发生制计入当月。'),
('finance.receivable_days', '应收账款周转天数', '天', 'avg', 'amber 0.5, green 0.95, blue 1.3', '财务总监 周敏',
 '回款速度，越短越好。目标从 60 天缩短到 45 天。',
 '月末应收账款余额 ÷ 当月营业收入 × 30；期间值取各月平均。'),
('hr.productivity', '人均营业收入', '万元/人', 'ratio', 'amber 0.85, green 0.97, blue 1.1', '人力资源部 林芳',
 '人效：每位员工每月创造的收入。',
 '营业收入 ÷ 各月末在岗人数之和，即期间内平均每人每月的营业收入。'),
('service.csat', '客户满意度', '分', 'avg', 'amber 0.95, green 0.99, blue 1.03', '客服中心 吴婷',
 '售后回访满意度，5 分制。',
 '安装或维修完成后 48 小时内电话或短信回访的评分（1–5 分）平均值，未回复不计。'),
('service.complaint_rate', '客诉率', '%', 'ratio', 'amber 0.6, green 0.95, blue 1.3', '客服中心 吴婷',
 '有效投诉占订单的比例，越低越好。目标从 0.5% 降到 0.3%。',
 '经客服确认的有效投诉数（含 12315 与平台投诉）÷ 订单量；重复投诉同一问题计 1 次。'),
('service.repurchase_rate', '复购率', '%', 'ratio', 'amber 0.85, green 0.97, blue 1.1', '客服中心 吴婷',
 '老客户再次购买的比例。',
 '当期下单客户中，过去 24 个月内有过购买的客户数 ÷ 当期下单客户数。'),
('supply.otd_rate', '准时交付率', '%', 'ratio', 'amber 0.95, green 0.99, blue 1.03', '供应链中心 何涛',
 '按承诺日期送达的订单比例。',
 '在承诺送达日（含）之前签收的订单数 ÷ 应交付订单数；客户要求改期的按新日期计。'),
('supply.inventory', '库存金额', '万元', 'last', 'amber 0.85, green 1, blue 1.1', '供应链中心 何涛',
 '月末成品与原材料库存，时点指标（半可加：跨时间取期末值）。',
 '月末最后一天 24:00 的成品、在途与原材料库存成本金额；期间值取期末月的值。'),
('mfg.oee', '设备综合效率 OEE', '%', 'ratio', 'amber 0.9, green 0.98, blue 1.05', '制造中心 马超',
 '总装线的设备综合效率。',
 '合格品标准工时 ÷ 计划生产工时（= 可用率 × 性能率 × 良品率）。'),
('hr.headcount', '在岗人数', '人', 'last', 'amber 0.8, green 1', '人力资源部 林芳',
 '月末在岗员工数，时点指标；目标是编制区间，超编或缺编都不好。',
 '月末最后一天在册且未停薪留职的正式员工与劳务派遣人数，不含实习生。'),
('hr.attrition_rate', '员工月流失率', '%', 'ratio', 'amber 0.6, green 0.95, blue 1.2', '人力资源部 林芳',
 '主动与被动离职的比例，越低越好。',
 '当月离职人数 ÷ 当月月末在岗人数；期间值为离职人数之和 ÷ 月末在岗人数之和。'),

-- execution
('sales.store_revenue', '门店零售收入', '万元', 'sum', 'amber 0.9, green 0.98, blue 1.1', '零售事业部 张伟',
 '直营与加盟门店的零售额。',
 '门店 POS 确认的销售额（不含税），扣除当月退货。'),
('sales.online_revenue', '线上电商收入', '万元', 'sum', 'amber 0.9, green 0.98, blue 1.1', '电商事业部 李娜',
 '天猫、京东、抖音与自营商城的销售额。',
 '平台结算的成交额（不含税），扣除退款；按发货时间计入当月。'),
('sales.project_revenue', '工程渠道收入', '万元', 'sum', 'amber 0.9, green 0.98, blue 1.1', '工程渠道部 赵强',
 '房地产精装修与酒店等工程项目的收入。',
 '按工程合同交付验收确认的收入（不含税）。'),
('market.leads', '有效线索数', '条', 'sum', 'amber 0.9, green 0.98, blue 1.1', '市场部 刘洋',
 '市场活动带来的有效销售线索。',
 '留下有效手机号且 7 天内未被判定为无效的线索数，按手机号去重。'),
('market.conversion_rate', '线索转化率', '%', 'ratio', 'amber 0.85, green 0.97, blue 1.1', '市场部 刘洋',
 '线索成交的比例。',
 '当期线索中 30 天内成交的线索数 ÷ 当期有效线索数。'),
('rd.launches', '新品上市数', '个', 'sum', 'amber 0.7, green 1, blue 1.3', '研发中心 孙伟',
 '集团层面统一上市的新 SKU 数量，只在集团（hq）记录。',
 '当月正式上市销售的新 SKU 数，颜色款不单独计。'),
('sales.discount_rate', '促销折扣率', '%', 'ratio', 'amber 0.6, green 0.95, blue 1.3', '销售中心 王磊',
 '促销让利占收入的比例，越低越好。目标从 10% 降到 8%。',
 '（标价金额 − 成交金额）÷ 营业收入，含满减、券与赠品折价。'),
('purchase.cost_index', '采购成本指数', '点', 'avg', 'amber 0.6, green 0.95, blue 1.3', '采购部 高峰',
 '主要物料的采购单价指数（2025 年均值 = 100），越低越好。',
 '压缩机、钢板、铜管、塑料粒子按 2025 年用量加权的月均采购单价指数。'),
('market.ad_spend', '广告投放费用', '万元', 'sum', 'amber 0.9, green 0.98, blue 1.1', '市场部 刘洋',
 '线上与线下广告费用，控制在预算以内。',
 '当月确认的广告与推广费用（含平台推广费），按权责发生制。'),
('logistics.cost_per_order', '单均物流成本', '元/单', 'ratio', 'amber 0.6, green 0.95, blue 1.3', '物流部 冯军',
 '每单的干线、仓储与配送成本，越低越好。目标从 22 元降到 18 元。',
 '当月物流费用（干线 + 仓储 + 末端配送）÷ 订单量。'),
('service.first_response', '首次响应时长', '分钟', 'avg', 'amber 0.8, green 0.97, blue 1.1', '客服中心 吴婷',
 '客户报修到客服首次联系的时长，越短越好。',
 '工作时间内报修工单从创建到首次外呼或回复的分钟数的月平均值。'),
('service.install_on_time', '安装及时率', '%', 'ratio', 'amber 0.95, green 0.99, blue 1.03', '客服中心 吴婷',
 '在预约时段内完成安装的比例。',
 '预约时段内完成安装的工单数 ÷ 应安装工单数。'),
('supply.lead_time_days', '订单交付周期', '天', 'avg', 'amber 0.6, green 0.95, blue 1.3', '供应链中心 何涛',
 '下单到签收的天数，越短越好。目标从 5 天缩短到 3 天。',
 '签收时间 − 支付时间（自然日，保留一位小数）的月平均值，大件与预约送货按实际签收计。'),
('quality.defect_rate', '出厂不良率', '%', 'ratio', 'amber 0.6, green 0.95, blue 1.3', '质量部 郑浩',
 '出厂检验与开箱不良的比例，越低越好。目标从 0.4% 降到 0.2%。',
 '（出厂检验不良数 + 30 天内开箱不良数）÷ 产量。'),
('logistics.damage_rate', '运输破损率', '%', 'ratio', 'amber 0.8, green 0.97, blue 1.1', '物流部 冯军',
 '运输途中破损的订单比例，越低越好。',
 '签收时登记破损并经核实的订单数 ÷ 订单量。'),
('supply.stock_days', '库存周转天数', '天', 'avg', 'amber 0.6, green 0.95, blue 1.3', '供应链中心 何涛',
 '库存够卖多少天，越短越好。目标从 45 天缩短到 35 天。',
 '月末库存金额 ÷ 当月营业成本 × 30；期间值取各月平均。'),
('mfg.output', '产量', '台', 'sum', 'amber 0.9, green 0.98, blue 1.1', '制造中心 马超',
 '各基地总装下线并入库的整机数。',
 '当月完成总装、检验合格并入成品库的整机台数。'),
('mfg.downtime_hours', '非计划停机时长', '小时', 'sum', 'amber 0.7, green 0.95, blue 1.2', '制造中心 马超',
 '总装线非计划停机时间，越短越好。',
 '设备故障、缺料、质量停线导致的非计划停机小时数，计划保养不计。'),
('hr.engagement', '员工敬业度', '分', 'avg', 'amber 0.9, green 0.97, blue 1.05', '人力资源部 林芳',
 '月度脉搏调研的敬业度得分，百分制。',
 '月度匿名脉搏调研中敬业度 12 题得分的平均值（0–100），回收率低于 60% 时不计。'),
('hr.training_hours', '人均培训时长', '小时/人', 'ratio', 'amber 0.8, green 0.97, blue 1.2', '人力资源部 林芳',
 '员工每月接受培训的平均小时数。',
 '当月完成签到的培训总小时数 ÷ 月末在岗人数。');

-- ---------------------------------------------------------------------
-- The indicator tree (kpi.link): parent, child, weight.
-- Three children have two parents: supply.lead_time_days (satisfaction and
-- on-time delivery), quality.defect_rate (complaints and OEE) and
-- hr.productivity (profit and people).
-- ---------------------------------------------------------------------
INSERT INTO kpi.link (parent_id, child_id, weight)
SELECT p.id, c.id, v.weight
FROM (VALUES
    ('strategy.revenue_growth',  'sales.revenue',            0.5),
    ('strategy.revenue_growth',  'market.new_customers',     0.2),
    ('strategy.revenue_growth',  'sales.orders',             0.15),
    ('strategy.revenue_growth',  'market.new_product_share', 0.15),
    ('sales.revenue',            'sales.store_revenue',      0.45),
    ('sales.revenue',            'sales.online_revenue',     0.35),
    ('sales.revenue',            'sales.project_revenue',    0.2),
    ('market.new_customers',     'market.conversion_rate',   0.6),
    ('market.new_customers',     'market.leads',             0.4),
    ('market.new_product_share', 'rd.launches',              1),

    ('strategy.profit',          'finance.gross_margin',     0.4),
    ('strategy.profit',          'finance.expense_ratio',    0.3),
    ('strategy.profit',          'finance.receivable_days',  0.15),
    ('strategy.profit',          'hr.productivity',          0.15),
    ('finance.gross_margin',     'sales.discount_rate',      0.5),
    ('finance.gross_margin',     'purchase.cost_index',      0.5),
    ('finance.expense_ratio',    'logistics.cost_per_order', 0.6),
    ('finance.expense_ratio',    'market.ad_spend',          0.4),

    ('strategy.customer',        'service.csat',             0.4),
    ('strategy.customer',        'service.complaint_rate',   0.35),
    ('strategy.customer',        'service.repurchase_rate',  0.25),
    ('service.csat',             'supply.lead_time_days',    0.4),
    ('service.csat',             'service.first_response',   0.3),
    ('service.csat',             'service.install_on_time',  0.3),
    ('service.complaint_rate',   'quality.defect_rate',      0.6),
    ('service.complaint_rate',   'logistics.damage_rate',    0.4),

    ('strategy.operations',      'mfg.oee',                  0.4),
    ('strategy.operations',      'supply.otd_rate',          0.35),
    ('strategy.operations',      'supply.inventory',         0.25),
    ('supply.otd_rate',          'supply.lead_time_days',    0.5),
    ('supply.otd_rate',          'mfg.output',               0.5),
    ('supply.inventory',         'supply.stock_days',        1),
    ('mfg.oee',                  'mfg.downtime_hours',       0.5),
    ('mfg.oee',                  'quality.defect_rate',      0.5),

    ('strategy.people',          'hr.attrition_rate',        0.4),
    ('strategy.people',          'hr.productivity',          0.4),
    ('strategy.people',          'hr.headcount',             0.2),
    ('hr.attrition_rate',        'hr.engagement',            0.6),
    ('hr.attrition_rate',        'hr.training_hours',        0.4)
) v(parent, child, weight)
JOIN kpi.indicator p ON p.code = v.parent
JOIN kpi.indicator c ON c.code = v.child;

-- ---------------------------------------------------------------------
-- The plan the numbers are generated from (temporary, dropped at COMMIT).
--   kind   how the value is made: sum / avg / last are recorded as values,
--          ratio as numerator and denominator
--   t, b   target (per month and per unit of scope size for sum and last)
--          and baseline of the goal
--   den    for ratios: the indicator whose value is the denominator
--          (scaled by den_factor), or NULL for a fixed den_factor per size
--   sens   how strongly performance moves the value
--   bias   how well the whole company does on it (+ ahead, - behind)
--   digits rounding of the value (of the numerator, for ratios)
-- ---------------------------------------------------------------------
CREATE TEMP TABLE demo_plan (
    code text PRIMARY KEY, kind text, dir text, t float8, b float8,
    den text, den_factor float8, sens float8, bias float8, season text,
    source text, digits int
) ON COMMIT DROP;
INSERT INTO demo_plan VALUES
-- code                       kind     dir      t       b      den                 den_factor sens bias   season     source digits
('sales.store_revenue',      'sum',   'higher', 1800,   NULL,  NULL,               NULL,  1,    -0.02, 'store',   'erp', 1),
('sales.online_revenue',     'sum',   'higher', 1200,   NULL,  NULL,               NULL,  1,     0.10, 'online',  'erp', 1),
('sales.project_revenue',    'sum',   'higher', 700,    NULL,  NULL,               NULL,  1,    -0.09, 'project', 'erp', 1),
('sales.orders',             'sum',   'higher', 14000,  NULL,  NULL,               NULL,  1,     0.01, 'orders',  'oms', 0),
('market.new_customers',     'sum',   'higher', 5200,   NULL,  NULL,               NULL,  1,    -0.01, 'orders',  'crm', 0),
('market.leads',             'sum',   'higher', 21000,  NULL,  NULL,               NULL,  1,     0.04, 'orders',  'crm', 0),
('rd.launches',              'sum',   'higher', 6,      NULL,  NULL,               NULL,  1,     0.00, 'flat',    'plm', 0),
('mfg.output',               'sum',   'higher', 16000,  NULL,  NULL,               NULL,  1,     0.00, 'mfg',     'mes', 0),
('market.ad_spend',          'sum',   'lower',  260,    NULL,  NULL,               NULL,  1,     0.01, 'online',  'erp', 1),
('mfg.downtime_hours',       'sum',   'lower',  40,     NULL,  NULL,               NULL,  3,    -0.03, 'flat',    'mes', 1),
('service.csat',             'avg',   'higher', 4.6,    NULL,  NULL,               NULL,  0.35,  0.00, 'flat',    'crm', 2),
('hr.engagement',            'avg',   'higher', 78,     NULL,  NULL,               NULL,  0.6,  -0.01, 'flat',    'hr',  1),
('service.first_response',   'avg',   'lower',  30,     NULL,  NULL,               NULL,  2,     0.01, 'flat',    'crm', 1),
('finance.receivable_days',  'avg',   'lower',  45,     60,    NULL,               NULL,  1.5,   0.00, 'flat',    'erp', 1),
('supply.lead_time_days',    'avg',   'lower',  3,      5,     NULL,               NULL,  2,    -0.01, 'flat',    'oms', 2),
('supply.stock_days',        'avg',   'lower',  35,     45,    NULL,               NULL,  1.5,   0.01, 'flat',    'wms', 1),
('purchase.cost_index',      'avg',   'lower',  98,     100,   NULL,               NULL,  0.03,  0.00, 'flat',    'srm', 2),
('supply.inventory',         'last',  'lower',  5200,   NULL,  NULL,               NULL,  1.5,   0.00, 'flat',    'wms', 0),
('hr.headcount',             'last',  'range',  1200,   NULL,  NULL,               NULL,  0.6,   0.00, 'flat',    'hr',  0),
('finance.gross_margin',     'ratio', 'higher', 0.30,   0.28,  'sales.revenue',    1,     0.15,  0.00, NULL,      'erp', 1),
('finance.expense_ratio',    'ratio', 'lower',  0.18,   NULL,  'sales.revenue',    1,     1,     0.00, NULL,      'erp', 1),
('sales.discount_rate',      'ratio', 'lower',  0.08,   0.10,  'sales.revenue',    1,     2,     0.00, NULL,      'erp', 1),
('market.new_product_share', 'ratio', 'higher', 0.25,   NULL,  'sales.revenue',    1,     1,     0.03, NULL,      'erp', 1),
('market.conversion_rate',   'ratio', 'higher', 0.25,   NULL,  'market.leads',     1,     1,    -0.10, NULL,      'crm', 0),
('service.complaint_rate',   'ratio', 'lower',  0.003,  0.005, 'sales.orders',     1,     4,     0.00, NULL,      'crm', 0),
('service.repurchase_rate',  'ratio', 'higher', 0.22,   NULL,  'sales.orders',     0.9,   1,     0.02, NULL,      'crm', 0),
('service.install_on_time',  'ratio', 'higher', 0.95,   NULL,  'sales.orders',     0.6,   0.3,   0.00, NULL,      'crm', 0),
('supply.otd_rate',          'ratio', 'higher', 0.95,   NULL,  'sales.orders',     1,     0.3,  -0.01, NULL,      'oms', 0),
('logistics.cost_per_order', 'ratio', 'lower',  18,     22,    'sales.orders',     1,     1.5,   0.01, NULL,      'tms', 0),
('logistics.damage_rate',    'ratio', 'lower',  0.001,  NULL,  'sales.orders',     1,     2,     0.00, NULL,      'tms', 0),
('quality.defect_rate',      'ratio', 'lower',  0.002,  0.004, 'mfg.output',       1,     4,     0.01, NULL,      'mes', 0),
('mfg.oee',                  'ratio', 'higher', 0.85,   NULL,  NULL,               720,   0.5,   0.00, NULL,      'mes', 1),
('hr.attrition_rate',        'ratio', 'lower',  0.015,  NULL,  'hr.headcount',     1,     3,    -0.01, NULL,      'hr',  0),
('hr.training_hours',        'ratio', 'higher', 4,      NULL,  'hr.headcount',     1,     1.5,   0.02, NULL,      'hr',  0);

-- Scopes that carry data: size (east = 1), regional bias, yearly trend.
CREATE TEMP TABLE demo_scope (code text PRIMARY KEY, ord int, size float8, bias float8, trend float8) ON COMMIT DROP;
INSERT INTO demo_scope VALUES
    ('hq.east.shanghai', 1, 0.6,   0.03,  0.02),
    ('hq.east.hangzhou', 2, 0.4,   0.00,  0.00),
    ('hq.south',         3, 0.85, -0.01, -0.06),
    ('hq.north',         4, 0.55, -0.05,  0.08),
    ('hq',               5, 1,     0,     0);     -- only for rd.launches

-- Which data scopes make up each scope that gets a target.
CREATE TEMP TABLE demo_part (scope text, part text) ON COMMIT DROP;
INSERT INTO demo_part VALUES
    ('hq.east.shanghai', 'hq.east.shanghai'), ('hq.east.hangzhou', 'hq.east.hangzhou'),
    ('hq.south', 'hq.south'), ('hq.north', 'hq.north'),
    ('hq.east', 'hq.east.shanghai'), ('hq.east', 'hq.east.hangzhou'),
    ('hq', 'hq.east.shanghai'), ('hq', 'hq.east.hangzhou'), ('hq', 'hq.south'), ('hq', 'hq.north');

-- Incidents: performance drops by amount in these months (k: 13 = 2026-01).
CREATE TEMP TABLE demo_event (scope text, code_like text, k_from int, k_to int, amount float8, note text) ON COMMIT DROP;
INSERT INTO demo_event VALUES
    ('hq.north',         'supply.%',               16, 17, 0.10, '核心压缩机供应商停产，华北基地缺料'),
    ('hq.north',         'mfg.%',                  16, 17, 0.10, '核心压缩机供应商停产，华北基地缺料'),
    ('hq.north',         'sales.%',                16, 17, 0.10, '核心压缩机供应商停产，华北基地缺料'),
    ('hq.north',         'logistics.cost_per_order', 16, 17, 0.10, '缺料导致分批发货'),
    ('hq.east.hangzhou', 'quality.defect_rate',    17, 17, 0.30, '压缩机批次质量问题（批号 C2605）'),
    ('hq.east.hangzhou', 'service.complaint_rate', 17, 17, 0.30, '压缩机批次质量问题引发集中投诉'),
    ('hq.east.hangzhou', 'service.csat',           17, 17, 0.15, '压缩机批次质量问题引发集中投诉'),
    ('hq.south',         'logistics.%',            20, 20, 0.15, '台风“海燕”登陆，干线停运 4 天'),
    ('hq.south',         'supply.%',               20, 20, 0.15, '台风“海燕”登陆，干线停运 4 天'),
    ('hq.south',         'sales.store_revenue',    20, 20, 0.12, '台风“海燕”登陆，门店停业 3 天');

-- The 24 months 2025-01 .. 2026-12; measurements are taken at 20:00 on the
-- month's last day, company time.
CREATE TEMP TABLE demo_month ON COMMIT DROP AS
SELECT k, ((k - 1) % 12) + 1 AS m, 2025 + (k - 1) / 12 AS yr,
       make_date(2025 + (k - 1) / 12, ((k - 1) % 12) + 1, 1) AS first_day,
       (make_date(2025 + (k - 1) / 12, ((k - 1) % 12) + 1, 1) + interval '1 month' - interval '4 hours')::timestamptz AS at
FROM generate_series(1, 24) k;

-- Seasonality by month (each list averages 1).
CREATE FUNCTION pg_temp.demo_season(season text, m int) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT (CASE season
        WHEN 'store'   THEN ARRAY[1.15, 0.85, 0.90, 0.92, 1.05, 1.10, 1.12, 1.05, 0.95, 1.15, 0.88, 0.88]
        WHEN 'online'  THEN ARRAY[0.90, 0.75, 0.85, 0.90, 1.00, 1.45, 0.95, 0.90, 0.90, 0.95, 1.60, 0.85]
        WHEN 'project' THEN ARRAY[0.70, 0.60, 0.90, 1.00, 1.00, 1.10, 1.00, 1.00, 1.10, 1.00, 1.10, 1.50]
        WHEN 'orders'  THEN ARRAY[0.95, 0.75, 0.88, 0.92, 1.02, 1.30, 1.02, 0.95, 0.92, 1.05, 1.35, 0.89]
        WHEN 'mfg'     THEN ARRAY[1.05, 0.70, 1.00, 1.05, 1.05, 1.10, 1.05, 1.00, 1.00, 1.00, 1.05, 0.95]
        ELSE array_fill(1.0, ARRAY[12]) END)[m]::float8
$$;

-- Performance of an indicator in a scope and month: 1 = exactly on plan.
-- 2025 ran a little below 2026's level.
CREATE TEMP TABLE demo_perf ON COMMIT DROP AS
SELECT p.code, s.code AS scope, mo.k,
       1 + s.bias + p.bias
         + 0.04 * sin(1.7 * p.ord + 2.3 * s.ord + 0.9 * mo.k)
         + s.trend * (mo.k - 18.5) / 12
         - coalesce((SELECT sum(e.amount) FROM demo_event e
                     WHERE e.scope = s.code AND p.code LIKE e.code_like
                       AND mo.k BETWEEN e.k_from AND e.k_to), 0)
         - CASE WHEN mo.yr = 2025 THEN 0.02 ELSE 0 END AS perf,
       (SELECT min(e.note) FROM demo_event e
        WHERE e.scope = s.code AND p.code LIKE e.code_like AND mo.k BETWEEN e.k_from AND e.k_to) AS note
FROM (SELECT dp.*, row_number() OVER (ORDER BY dp.code) AS ord FROM demo_plan dp) p
CROSS JOIN demo_scope s
CROSS JOIN demo_month mo
WHERE (p.code = 'rd.launches') = (s.code = 'hq');

-- Monthly plan (the target before rounding) per data scope: sums and
-- snapshots scale with the scope's size and the season; 2025's level was
-- 12 % (sums) or 5 % (snapshots) lower, and averages and ratios stood at
-- the goal's baseline (last year's level) where it has one.
CREATE TEMP TABLE demo_value ON COMMIT DROP AS
SELECT p.code, p.kind, pf.scope, mo.k, mo.at, pf.note, p.source,
       CASE p.kind
           WHEN 'sum'  THEN p.t * s.size * pg_temp.demo_season(p.season, mo.m)
                            / CASE WHEN mo.yr = 2025 THEN 1.12 ELSE 1 END
           WHEN 'last' THEN p.t * s.size / CASE WHEN mo.yr = 2025 THEN 1.05 ELSE 1 END
           ELSE CASE WHEN mo.yr = 2025 THEN coalesce(p.b, p.t) ELSE p.t END END AS plan,
       pf.perf,
       NULL::float8 AS value, NULL::float8 AS den
FROM demo_plan p
JOIN demo_perf pf ON pf.code = p.code
JOIN demo_scope s ON s.code = pf.scope
JOIN demo_month mo ON mo.k = pf.k;

-- Values of indicators recorded as plain values.
UPDATE demo_value v
SET value = round((CASE
        WHEN p.dir = 'lower'                   THEN v.plan * (1 + p.sens * (1 - v.perf))
        WHEN p.kind = 'sum'                    THEN v.plan * v.perf
        ELSE                                        v.plan * (1 + p.sens * (v.perf - 1)) END)::numeric,
        p.digits)::float8
FROM demo_plan p
WHERE p.code = v.code AND p.kind <> 'ratio';

-- Company revenue is the sum of the three channels.
INSERT INTO demo_value (code, kind, scope, k, at, note, source, plan, value)
SELECT 'sales.revenue', 'sum', v.scope, v.k, v.at, min(v.note), 'erp', sum(v.plan), sum(v.value)
FROM demo_value v
WHERE v.code IN ('sales.store_revenue', 'sales.online_revenue', 'sales.project_revenue')
GROUP BY v.scope, v.k, v.at;

-- Ratios: the denominator is another indicator's value (or a fixed capacity),
-- the numerator follows the target and the performance.
UPDATE demo_value v
SET den = round(coalesce(d.value * p.den_factor, p.den_factor * s.size)::numeric)::float8
FROM demo_plan p
JOIN demo_scope s ON true
LEFT JOIN demo_value d ON d.code = p.den
WHERE p.code = v.code AND p.kind = 'ratio' AND s.code = v.scope
  AND (p.den IS NULL OR (d.scope = v.scope AND d.k = v.k));
UPDATE demo_value v
SET value = round((v.den * CASE WHEN p.dir = 'lower' THEN v.plan * (1 + p.sens * (1 - v.perf))
                                WHEN p.t < 1 THEN least(0.995, v.plan * (1 + p.sens * (v.perf - 1)))
                                ELSE v.plan * (1 + p.sens * (v.perf - 1)) END)::numeric,
                   p.digits)::float8
FROM demo_plan p
WHERE p.code = v.code AND p.kind = 'ratio';

-- Derived ratios: revenue per head, and year-on-year revenue growth
-- (numerator: the increase on the same month last year; denominator: that
-- month's revenue last year), so any period and region sums correctly.
INSERT INTO demo_value (code, kind, scope, k, at, source, value, den)
SELECT 'hr.productivity', 'ratio', r.scope, r.k, r.at, 'hr', r.value, h.value
FROM demo_value r
JOIN demo_value h ON h.code = 'hr.headcount' AND h.scope = r.scope AND h.k = r.k
WHERE r.code = 'sales.revenue';
INSERT INTO demo_value (code, kind, scope, k, at, source, value, den)
SELECT 'strategy.revenue_growth', 'ratio', cur.scope, cur.k, cur.at, 'erp',
       round((cur.value - ly.value)::numeric, 1)::float8, ly.value
FROM demo_value cur
JOIN demo_value ly ON ly.code = cur.code AND ly.scope = cur.scope AND ly.k = cur.k - 12
WHERE cur.code = 'sales.revenue' AND cur.k > 12;

-- ---------------------------------------------------------------------
-- Targets (kpi.target) for 2026, before the measurements so that each
-- actual is evaluated once, as it arrives.
--   per data scope and month: the rounded plan (sums, snapshots) or the
--   goal's number (averages, ratios);
--   regions and the company: sums and snapshots add up their parts, the
--   others keep the same number;
--   quarters and the year: sums add up their months, snapshots take the
--   last month's, the others keep the same number.
-- ---------------------------------------------------------------------
CREATE TEMP TABLE demo_target ON COMMIT DROP AS
WITH leaf_month AS (
    SELECT v.code, p.kind, v.scope, v.k,
           CASE WHEN p.kind IN ('sum', 'last') THEN round(v.plan::numeric, p.digits)::float8 ELSE p.t END AS t
    FROM demo_value v JOIN demo_plan p ON p.code = v.code
    WHERE v.k > 12
    UNION ALL           -- revenue: the sum of the channels' rounded plans
    SELECT 'sales.revenue', 'sum', v.scope, v.k, sum(round(v.plan::numeric, 1))::float8
    FROM demo_value v
    WHERE v.k > 12 AND v.code IN ('sales.store_revenue', 'sales.online_revenue', 'sales.project_revenue')
    GROUP BY v.scope, v.k
),
scope_month AS (
    SELECT l.code, l.kind, coalesce(dp.scope, l.scope) AS scope, l.k,
           CASE WHEN l.kind IN ('sum', 'last') THEN sum(l.t) ELSE max(l.t) END AS t
    FROM leaf_month l
    LEFT JOIN demo_part dp ON dp.part = l.scope
    GROUP BY l.code, l.kind, coalesce(dp.scope, l.scope), l.k
)
SELECT sm.code, sm.scope, kpi.period(mo.first_day, g.grain) AS period,
       CASE WHEN sm.kind = 'sum'  THEN sum(sm.t)
            WHEN sm.kind = 'last' THEN (array_agg(sm.t ORDER BY sm.k DESC))[1]
            ELSE max(sm.t) END AS t
FROM scope_month sm
JOIN demo_month mo ON mo.k = sm.k
CROSS JOIN (VALUES ('month'), ('quarter'), ('year')) g(grain)
GROUP BY sm.code, sm.kind, sm.scope, kpi.period(mo.first_day, g.grain);

-- The two derived ratios have one number for every scope and period.
INSERT INTO demo_target (code, scope, period, t)
SELECT DISTINCT c.code, s.scope, kpi.period(mo.first_day, g.grain), c.t
FROM (VALUES ('strategy.revenue_growth', 0.12), ('hr.productivity', 3)) c(code, t)
CROSS JOIN (SELECT DISTINCT scope FROM demo_part) s
CROSS JOIN demo_month mo
CROSS JOIN (VALUES ('month'), ('quarter'), ('year')) g(grain)
WHERE mo.yr = 2026;

INSERT INTO kpi.target (indicator_id, scope_id, period, goal, note)
SELECT i.id, s.id, t.period,
       CASE WHEN p.dir = 'range' THEN kpi.goal_range(round(t.t * 0.97), round(t.t * 1.03))
            ELSE kpi.goal(t.t, coalesce(p.dir, 'higher'), p.b) END,
       '2026 年度经营计划'
FROM demo_target t
JOIN kpi.indicator i ON i.code = t.code
JOIN kpi.scope s ON s.code = t.scope
LEFT JOIN demo_plan p ON p.code = t.code;

-- One retarget during the year, kept in kpi.target_history: after the
-- supplier outage the north's Q3 delivery lead time goal is relaxed.
SELECT kpi.set_target('supply.lead_time_days', 'hq.north', '2026-Q3', '<= 3.5 from 5',
                      '华北新仓投产推迟至 10 月，经营例会批准 Q3 目标放宽至 3.5 天') AS retarget_id \gset

-- ---------------------------------------------------------------------
-- Alert rules (预警规则), before the measurements: the trigger raises alerts
-- as the values arrive, in the same transaction.
--   revenue and output: amber or worse raises, escalation to the directors;
--   complaint rate and on-time delivery: with hysteresis (0.05), so a rate
--   wobbling around the edge does not raise and clear again and again;
--   the north's lead time only after two bad months in a row (连续两个月).
-- Rules with no scope apply to every scope that has a target: branches,
-- regions and the company (kpi.evaluate() judges the levels above a
-- branch, below).
-- ---------------------------------------------------------------------
INSERT INTO kpi.alert_rule (indicator_id, scope_id, raise_at, min_breaches, recovery_margin,
                            escalate_to, escalate_after)
SELECT kpi.indicator_id(r.code), CASE WHEN r.scope IS NOT NULL THEN kpi.scope_id(r.scope) END,
       r.raise_at::kpi.status, r.min_breaches, r.margin, r.esc_to::text[], r.esc_after::interval[]
FROM (VALUES ('sales.revenue',          NULL,       'amber', 1, 0.0,  '{销售总监,总经理}', '{1 day,3 days}'),
             ('mfg.output',             NULL,       'amber', 1, 0.0,  '{制造总监}',        '{1 day}'),
             ('service.complaint_rate', NULL,       'amber', 1, 0.05, '{}',                '{}'),
             ('supply.otd_rate',        NULL,       'red',   1, 0.05, '{}',                '{}'),
             ('supply.lead_time_days',  'hq.north', 'amber', 2, 0.0,  '{供应链总监}',      '{2 days}'))
     AS r(code, scope, raise_at, min_breaches, margin, esc_to, esc_after);

-- One indicator has no target at all: unplanned line stops are a health
-- signal, not a goal.  An anomaly rule (异常波动) watches it instead: a
-- month far outside its own last twelve months raises.
INSERT INTO kpi.indicator (code, name, unit, agg, owner, description, definition) VALUES
('mfg.line_stops', '非计划停线次数', '次', 'sum', '制造中心 马超',
 '总装线非计划停线的次数。没有目标值，用异常检测发现异常波动。',
 '设备故障、缺料、质量问题导致总装线停线超过 10 分钟的次数，计划保养不计。');
INSERT INTO kpi.alert_rule (indicator_id, basis) VALUES (kpi.indicator_id('mfg.line_stops'), 'anomaly');

-- ---------------------------------------------------------------------
-- The business's own tables (release 0.10): the order system's orders and
-- order lines (amounts in yuan; about 2 % of orders are cancelled) and the
-- CRM's service tickets, for 2026.  They are generated from the plan so
-- that each month adds up to the figures above: a branch's orders of a
-- month spread evenly over its days, split between the channels in
-- proportion to their revenue, each channel's revenue spread over its
-- orders to the yuan.
-- ---------------------------------------------------------------------
CREATE SCHEMA shop;
COMMENT ON SCHEMA shop IS 'the demo company''s business tables: orders, order lines, service tickets';
CREATE TABLE shop.orders (
    id bigint PRIMARY KEY, branch text NOT NULL, channel text NOT NULL,
    ordered_at timestamptz NOT NULL, status text NOT NULL);
CREATE TABLE shop.order_lines (
    order_id bigint NOT NULL, line int NOT NULL, sku text NOT NULL,
    amount numeric(14, 2) NOT NULL, PRIMARY KEY (order_id, line));
CREATE TABLE shop.tickets (
    id bigserial PRIMARY KEY, branch text NOT NULL, opened_at timestamptz NOT NULL, kind text NOT NULL);

CREATE TEMP TABLE demo_channel ON COMMIT DROP AS
SELECT o.scope, o.k, mo.first_day, c.channel, r.value * 10000 AS yuan,
       round(o.value * r.value / sum(r.value) OVER (PARTITION BY o.scope, o.k))::int AS n
FROM demo_value o
JOIN demo_month mo ON mo.k = o.k
JOIN demo_value r ON r.scope = o.scope AND r.k = o.k
JOIN (VALUES ('sales.store_revenue', 'store'), ('sales.online_revenue', 'online'),
             ('sales.project_revenue', 'project')) c(code, channel) ON c.code = r.code
WHERE o.code = 'sales.orders' AND o.k > 12;
-- the rounding error of the split goes to the store channel
UPDATE demo_channel d SET n = d.n + o.value::int - x.n
FROM demo_value o, (SELECT scope, k, sum(n) AS n FROM demo_channel GROUP BY 1, 2) x
WHERE d.channel = 'store' AND o.code = 'sales.orders' AND o.scope = d.scope AND o.k = d.k
  AND x.scope = d.scope AND x.k = d.k;

-- Order i of n in a month is placed at (i - 0.5) / n of the month, Shanghai
-- time, with one line (two for every fifth: 70 % and 30 %); the yuan that
-- do not divide evenly go to a month's first orders.  One in fifty more is
-- cancelled, and counted nowhere.
CREATE TEMP TABLE demo_order ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY d.k, d.scope, d.channel, i) AS id, d.scope, d.channel,
       d.first_day + ((i - 0.5) / d.n) * ((d.first_day + interval '1 month')::date - d.first_day) * interval '1 day' AS at,
       trunc(d.yuan / d.n) + CASE WHEN i <= d.yuan - trunc(d.yuan / d.n) * d.n THEN 1 ELSE 0 END AS amount
FROM demo_channel d, generate_series(1, d.n) i;
INSERT INTO shop.orders (id, branch, channel, ordered_at, status)
SELECT o.id, o.scope, o.channel, o.at, 'paid' FROM demo_order o
UNION ALL
SELECT 10000000 + o.id, o.scope, o.channel, o.at + interval '7 minutes', 'cancelled' FROM demo_order o WHERE o.id % 50 = 0;
INSERT INTO shop.order_lines (order_id, line, sku, amount)
SELECT o.id, 1, 'SKU-' || (o.id % 97), CASE WHEN o.id % 5 = 0 THEN o.amount - trunc(o.amount * 0.3) ELSE o.amount END
FROM demo_order o
UNION ALL
SELECT o.id, 2, 'SKU-ACC', trunc(o.amount * 0.3) FROM demo_order o WHERE o.id % 5 = 0
UNION ALL
SELECT 10000000 + o.id, 1, 'SKU-X', 2999 FROM demo_order o WHERE o.id % 50 = 0;
-- complaints (and, for scale, as many enquiries), spread over the month
INSERT INTO shop.tickets (branch, opened_at, kind)
SELECT v.scope, mo.first_day + ((i - 0.5) / v.value) * ((mo.first_day + interval '1 month')::date - mo.first_day) * interval '1 day',
       t.kind
FROM demo_value v JOIN demo_month mo ON mo.k = v.k,
     generate_series(1, v.value::int) i, unnest('{complaint,enquiry}'::text[]) t(kind)
WHERE v.code = 'service.complaint_rate' AND v.k > 12;

-- What the definitions read: an order line with its order, and complaints
-- beside orders (a ratio's numerator and denominator come from one row).
CREATE VIEW shop.order_revenue AS
SELECT o.id AS order_id, o.branch, o.channel, o.ordered_at, o.status, l.amount
FROM shop.orders o JOIN shop.order_lines l ON l.order_id = o.id;
CREATE VIEW shop.complaint_base AS
SELECT t.branch, t.opened_at AS at, 1 AS complaints, 0 AS orders FROM shop.tickets t WHERE t.kind = 'complaint'
UNION ALL
SELECT o.branch, o.ordered_at, 0, 1 FROM shop.orders o WHERE o.status = 'paid';
ANALYZE shop.orders, shop.order_lines, shop.tickets;

-- ---------------------------------------------------------------------
-- Measurements (kpi.measurement).  kpi.actual follows by trigger.
-- Plain values are loaded in one INSERT ... SELECT, as a nightly load from
-- business tables would be; ratios go through kpi.record_ratio, which takes
-- the numerator and the denominator.
-- ---------------------------------------------------------------------
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, note, source)
SELECT i.id, s.id, v.at, v.value, v.note, v.source
FROM demo_value v
JOIN kpi.indicator i ON i.code = v.code
JOIN kpi.scope s ON s.code = v.scope
WHERE v.kind <> 'ratio' AND v.code <> 'rd.launches'
  AND NOT (v.code IN ('sales.revenue', 'sales.store_revenue', 'sales.online_revenue',
                      'sales.project_revenue', 'sales.orders') AND v.k > 12)
ORDER BY v.k, v.code, v.scope;

SELECT count(kpi.record_ratio(v.code, v.scope, v.value, v.den, v.at, v.note)) AS ratios_recorded
FROM (SELECT * FROM demo_value WHERE kind = 'ratio' AND NOT (code = 'service.complaint_rate' AND k > 12)
      ORDER BY k, code, scope) v \gset

-- From 2026 on, revenue, orders and the complaint rate are computed from
-- the business's tables (口径 as code): one definition each, in force
-- from 2026-01-01, then one refresh brings them up to date.  kpi.refresh
-- is what pg_cron runs every few minutes (docs/sources.md).
SELECT count(kpi.set_source(d.code, d.source, d.at, 'branch', d.value, d.den, d.filter, '2026-01-01')) AS definitions
FROM (VALUES
    ('sales.revenue',         'shop.order_revenue',  'ordered_at', 'amount / 10000', NULL, $$status = 'paid'$$),
    ('sales.store_revenue',   'shop.order_revenue',  'ordered_at', 'amount / 10000', NULL, $$status = 'paid' AND channel = 'store'$$),
    ('sales.online_revenue',  'shop.order_revenue',  'ordered_at', 'amount / 10000', NULL, $$status = 'paid' AND channel = 'online'$$),
    ('sales.project_revenue', 'shop.order_revenue',  'ordered_at', 'amount / 10000', NULL, $$status = 'paid' AND channel = 'project'$$),
    ('sales.orders',          'shop.orders',         'ordered_at', '1',              NULL, $$status = 'paid'$$),
    ('service.complaint_rate', 'shop.complaint_base', 'at',        'complaints',     'orders', NULL)
) d(code, source, at, value, den, filter) \gset
SELECT count(*) AS refreshed FROM kpi.refresh() \gset

-- R&D launches are counted once, for the whole group.
SELECT count(kpi.record('rd.launches', 'hq', v.value, v.at)) AS launches_recorded
FROM (SELECT * FROM demo_value WHERE code = 'rd.launches' ORDER BY k) v \gset

-- Line stops follow the downtime: one stop per two and a half hours.
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, source)
SELECT kpi.indicator_id('mfg.line_stops'), s.id, v.at, round(v.value / 2.5), 'mes'
FROM demo_value v JOIN kpi.scope s ON s.code = v.scope
WHERE v.code = 'mfg.downtime_hours'
ORDER BY v.k, v.scope;

-- The evaluation cycle (pg_cron runs it every minute, docs/alerts.md):
-- the regions and the company, whose keys the writers queued, are judged.
SELECT judged AS evaluated_keys FROM kpi.evaluate() \gset

COMMIT;
DROP FUNCTION pg_temp.demo_season(text, int);

-- ---------------------------------------------------------------------
-- The review (复盘) of 2026-Q2 for 华北大区: the supplier outage.
-- Findings come from the alerts the outage raised (kpi.finding_from_alert),
-- each with its root cause (根因) and lesson (经验教训); actions have
-- owners (责任人) and due dates; one is overdue.  The alerts of the
-- outage month are resolved with the finding that explains them.
-- ---------------------------------------------------------------------
BEGIN;
INSERT INTO kpi.review (title, period, scope_id, held_at, facilitator, summary, state)
VALUES ('2026年二季度华北大区经营复盘', '2026-Q2', kpi.scope_id('hq.north'), '2026-07-08 09:30+08',
        '华北大区总经理 王磊',
        '4—5月核心压缩机供应商停产，交付、产量与收入同时下滑；6月起恢复。', 'held');
SELECT id AS demo_review FROM kpi.review WHERE title = '2026年二季度华北大区经营复盘' \gset

CREATE TEMP TABLE demo_finding (code text, period text, kind text, category text, root_cause text, lesson text) ON COMMIT DROP;
INSERT INTO demo_finding VALUES
('supply.otd_rate', '2026-05', 'gap', 'supplier',
 '唯一的压缩机供应商4月因环保整改停产六周，备选供应商尚未完成认证，华北工厂缺料停线。',
 '关键物料至少保持两家合格供应商，备选供应商每年做一次小批量验证。'),
('mfg.output', '2026-05', 'gap', 'material',
 '缺料导致两条总装线停线，插单与换线频繁，设备综合效率同步下滑。',
 '缺料预警要提前两周触发，生产计划按可用物料重排，而不是等到停线。'),
('sales.revenue', '2026-Q2', 'gap', 'supplier',
 '断货期间门店与工程渠道订单无法交付，部分客户转向竞品，二季度收入未达标。',
 '断货时优先保障高毛利与战略客户订单，并主动告知客户预计到货时间。'),
('service.complaint_rate', '2026-05', 'gap', 'process',
 '延迟交付引发的客诉没有单独分类，客服无法向客户说明到货时间。',
 '交付延迟类客诉要单独建类，客服系统接入订单预计到货时间。');

SELECT count(kpi.finding_from_alert(a.id, :demo_review, f.root_cause, f.lesson, f.category, f.kind)) AS findings
FROM demo_finding f
JOIN kpi.alert a ON a.indicator_id = kpi.indicator_id(f.code) AND a.scope_id = kpi.scope_id('hq.north')
                AND a.period OPERATOR(kpi.=) f.period::kpi.period AND a.state <> 'resolved' \gset
-- and a success worth repeating
INSERT INTO kpi.finding (review_id, indicator_id, kind, cause_category, summary, root_cause, lesson)
VALUES (:demo_review, kpi.indicator_id('service.csat'), 'success', 'people', '断货期间客户满意度保持在目标以上',
        '门店逐一回访受影响客户并提供延期补偿，客户理解度高。',
        'Proactive call-backs with a small compensation keep customers loyal through a supply outage.');

INSERT INTO kpi.action (finding_id, title, owner, due, state, outcome)
SELECT f.id, v.title, v.owner, v.due::date, v.state, v.outcome
FROM (VALUES
    ('supply.otd_rate', '完成第二家压缩机供应商认证并下达首批订单', '采购总监 李娜', '2026-08-31', 'done', '8月20日通过认证，9月起每月供货三成'),
    ('supply.otd_rate', '建立关键物料30天安全库存', '计划经理 赵强', '2026-09-30', 'in_progress', NULL),
    ('mfg.output', '上线缺料预警看板（提前两周）', '生产总监 刘洋', '2026-12-15', 'open', NULL),
    ('service.complaint_rate', '客服系统接入订单预计到货时间', '客服经理 陈静', '2027-01-31', 'open', NULL),
    ('sales.revenue', '战略客户断货保障清单', '华北销售总监 孙伟', '2026-12-31', 'open', NULL)
) v(code, title, owner, due, state, outcome)
JOIN kpi.finding f ON f.review_id = :demo_review AND f.indicator_id = kpi.indicator_id(v.code);

-- the outage month's alerts are resolved with the finding that explains them
SELECT count(kpi.alert_resolve(a.id, '华北大区总经理 王磊', '二季度复盘已分析', f.id)) AS alerts_resolved
FROM kpi.finding f
JOIN kpi.alert a ON a.id = f.alert_id
WHERE f.review_id = :demo_review AND a.state <> 'resolved' \gset
COMMIT;
