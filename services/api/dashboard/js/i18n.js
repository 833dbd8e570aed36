// Chinese by default, English on request; the choice is kept in localStorage.
const STORAGE_KEY = "ew.lang";
export const LANGUAGES = ["zh-CN", "en"];

const MESSAGES = {
  "zh-CN": {
    "app.title": "EnergyWatch 能耗在线监测",
    "app.lang.toggle": "English",
    "app.logout": "退出",
    "app.loading": "加载中…",
    "app.error": "出错了：{detail}",
    "app.back": "返回",
    "login.title": "登录",
    "login.username": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.failed": "用户名或密码错误",
    "login.limited": "尝试次数过多，请 {seconds} 秒后再试",
    "role.admin": "管理员",
    "role.regulator": "监管人员",
    "role.operator": "企业操作员",
    "live.connected": "实时连接",
    "live.disconnected": "实时连接中断，正在重连…",
    "live.updated": "更新于 {time}",
    "site.power": "实时功率",
    "site.consumption": "分能源品种消费量",
    "site.today": "今日",
    "site.today.tce": "综合能耗 (tce)",
    "site.today.tco2": "二氧化碳排放 (tCO2)",
    "site.byMeasure": "分品种",
    "site.intensity": "滚动单位产品能耗",
    "site.intensity.none": "本单位未登记产品产量计量点",
    "site.benchmark": "标杆值",
    "site.limit": "限额值",
    "site.budget": "年度能耗预算",
    "site.budget.none": "未设定年度能耗预算",
    "site.budget.used": "已用",
    "site.budget.projection": "全年预测 {value} tce（{share}）",
    "site.budget.pace": "进度比 {pace}",
    "site.alerts": "未关闭告警",
    "site.alerts.none": "无未关闭告警",
    "site.noPower": "无功率计量点",
    "site.noConsumption": "暂无消费数据",
    "site.window": "近 {hours} 小时",
    "col.measure": "能源品种",
    "col.quantity": "消费量",
    "col.unit": "单位",
    "col.tce": "tce",
    "col.tco2": "tCO2",
    "col.rank": "排名",
    "col.site": "企业",
    "col.industry": "行业",
    "col.division": "行政区划",
    "col.alerts": "告警 (触发/未关闭)",
    "col.intensity": "单位产品能耗",
    "col.budgetShare": "预算使用率",
    "col.severity": "级别",
    "col.rule": "规则",
    "col.subject": "对象",
    "col.value": "数值 / 阈值",
    "col.state": "状态",
    "col.since": "开始时间",
    "col.ack": "确认",
    "alert.ack": "确认",
    "alert.wholeSite": "全厂",
    "alert.ackedBy": "{user} 已确认",
    "alert.ackPrompt": "确认说明（可选）",
    "severity.info": "提示",
    "severity.warning": "预警",
    "severity.critical": "严重",
    "state.pending": "待定",
    "state.firing": "告警中",
    "state.resolved": "已恢复",
    "reg.title": "区域监管",
    "reg.region": "辖区",
    "reg.ranking": "企业排名（今日）",
    "reg.rankBy": "排序",
    "reg.by.breaches": "超限告警",
    "reg.by.intensity": "单位产品能耗",
    "reg.by.tce": "综合能耗",
    "reg.by.tco2": "碳排放",
    "reg.inbox": "告警收件箱",
    "reg.inbox.empty": "收件箱中没有需要处理的告警",
    "reg.drill": "查看",
    "reg.newAlerts": "{count} 条新告警",
    "reg.none": "辖区内暂无企业",
    "alert.window": "近 {length}，截至 {end}",
    "alert.window.hours": "{n} 小时",
    "alert.window.minutes": "{n} 分钟",
    "alert.window.seconds": "{n} 秒",
    "reg.inbox.show": "显示级别",
    "reg.inbox.hint": "告警中的告警，以及未经确认即已恢复的严重告警",
    "reg.stations": "监测站点",
    "reg.stations.none": "辖区内暂无监测站点",
    "col.station": "站点",
    "col.stationKind": "类型",
    "col.measures": "监测项目",
    "col.lastReading": "最新数据",
    "station.kind.stack": "固定污染源烟气排放连续监测（CEMS）",
    "station.kind.ambient_ghg": "温室气体监测站",
    "station.kind.other": "监测站",
    "station.corrected": "{name} 折算值（基准氧 {o2}%）",
    "station.measured": "{name} 实测值",
    "station.hourly": "有效小时均值",
    "station.limit": "限值",
    "station.window": "判定窗口",
    "station.for": "持续时间",
    "station.breach": "超标时段",
    "station.invalidHour": "无效小时",
    "station.quality.1": "可疑",
    "station.quality.2": "无效（停运/维护/故障/校准/超量程）",
    "station.quality.3": "手工输入",
    "station.quality.4": "估算",
    "station.basis.logger_corrected": "数采仪折算值",
    "station.basis.o2_corrected": "按实测氧含量折算",
    "station.basis.no_o2": "缺少氧含量，无法折算",
    "station.basis.as_reported": "原始值",
    "station.hours": "小时数据有效性",
    "station.hour": "小时",
    "station.validMinutes": "有效分钟数",
    "station.hourlyMean": "小时均值（折算）",
    "station.noMean": "无效",
    "station.emissionKg": "排放量 (kg)",
    "station.diurnal": "日变化（按小时平均）",
    "station.noData": "该时段无数据",
    "station.alert": "告警",
    "station.alertLine": "{subject}：{value} / 限值 {threshold} {unit}",
    "station.alertWindows": "判定窗口 {window}，持续 {forS} 后触发，触发于 {fired}",
    "station.seconds": "{n} 秒",
    "station.minutes": "{n} 分钟",
    "station.evidence": "告警依据",
  },
  en: {
    "app.title": "EnergyWatch energy monitoring",
    "app.lang.toggle": "中文",
    "app.logout": "Log out",
    "app.loading": "Loading…",
    "app.error": "Something went wrong: {detail}",
    "app.back": "Back",
    "login.title": "Sign in",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.failed": "Wrong username or password",
    "login.limited": "Too many attempts; try again in {seconds} s",
    "role.admin": "Administrator",
    "role.regulator": "Regulator",
    "role.operator": "Plant operator",
    "live.connected": "Live",
    "live.disconnected": "Live stream lost, reconnecting…",
    "live.updated": "Updated {time}",
    "site.power": "Live power",
    "site.consumption": "Consumption by energy type",
    "site.today": "Today",
    "site.today.tce": "Energy (tce)",
    "site.today.tco2": "CO2 emissions (tCO2)",
    "site.byMeasure": "By energy type",
    "site.intensity": "Rolling energy intensity",
    "site.intensity.none": "No product output point registered",
    "site.benchmark": "Benchmark",
    "site.limit": "Limit",
    "site.budget": "Annual energy budget",
    "site.budget.none": "No annual energy budget set",
    "site.budget.used": "Used",
    "site.budget.projection": "Projected year {value} tce ({share})",
    "site.budget.pace": "Pace {pace}",
    "site.alerts": "Open alerts",
    "site.alerts.none": "No open alerts",
    "site.noPower": "No power points",
    "site.noConsumption": "No consumption data yet",
    "site.window": "Last {hours} h",
    "col.measure": "Energy type",
    "col.quantity": "Quantity",
    "col.unit": "Unit",
    "col.tce": "tce",
    "col.tco2": "tCO2",
    "col.rank": "Rank",
    "col.site": "Enterprise",
    "col.industry": "Industry",
    "col.division": "Division",
    "col.alerts": "Alerts (firing/open)",
    "col.intensity": "Intensity",
    "col.budgetShare": "Budget used",
    "col.severity": "Severity",
    "col.rule": "Rule",
    "col.subject": "Subject",
    "col.value": "Value / threshold",
    "col.state": "State",
    "col.since": "Since",
    "col.ack": "Acknowledge",
    "alert.ack": "Acknowledge",
    "alert.wholeSite": "whole site",
    "alert.ackedBy": "acknowledged by {user}",
    "alert.ackPrompt": "Comment (optional)",
    "severity.info": "Advisory",
    "severity.warning": "Warning",
    "severity.critical": "Critical",
    "state.pending": "Pending",
    "state.firing": "Firing",
    "state.resolved": "Resolved",
    "reg.title": "Regional oversight",
    "reg.region": "Region",
    "reg.ranking": "Enterprises ranked (today)",
    "reg.rankBy": "Rank by",
    "reg.by.breaches": "Breaches",
    "reg.by.intensity": "Intensity",
    "reg.by.tce": "Energy",
    "reg.by.tco2": "CO2",
    "reg.inbox": "Alert inbox",
    "reg.inbox.empty": "Nothing in the inbox needs attention",
    "reg.drill": "Open",
    "reg.newAlerts": "{count} new alerts",
    "reg.none": "No enterprises in this region",
    "alert.window": "over {length} to {end}",
    "alert.window.hours": "{n} h",
    "alert.window.minutes": "{n} min",
    "alert.window.seconds": "{n} s",
    "reg.inbox.show": "Show",
    "reg.inbox.hint": "Alerts firing, and critical ones that resolved before anyone acknowledged them",
    "reg.stations": "Monitoring stations",
    "reg.stations.none": "No monitoring stations in this region",
    "col.station": "Station",
    "col.stationKind": "Kind",
    "col.measures": "Measures",
    "col.lastReading": "Latest data",
    "station.kind.stack": "Stack CEMS",
    "station.kind.ambient_ghg": "Greenhouse-gas station",
    "station.kind.other": "Station",
    "station.corrected": "{name} corrected (reference O2 {o2}%)",
    "station.measured": "{name} measured",
    "station.hourly": "Valid hourly mean",
    "station.limit": "Limit",
    "station.window": "Rule window",
    "station.for": "For",
    "station.breach": "Breach",
    "station.invalidHour": "Invalid hour",
    "station.quality.1": "Suspect",
    "station.quality.2": "Invalid (stop/maintenance/fault/calibration/over range)",
    "station.quality.3": "Manual",
    "station.quality.4": "Estimated",
    "station.basis.logger_corrected": "logger's corrected value",
    "station.basis.o2_corrected": "corrected from measured O2",
    "station.basis.no_o2": "no O2: cannot correct",
    "station.basis.as_reported": "as reported",
    "station.hours": "Hourly validity",
    "station.hour": "Hour",
    "station.validMinutes": "Valid minutes",
    "station.hourlyMean": "Hourly mean (corrected)",
    "station.noMean": "invalid",
    "station.emissionKg": "Emitted (kg)",
    "station.diurnal": "Diurnal profile (hourly means)",
    "station.noData": "No data in this period",
    "station.alert": "Alert",
    "station.alertLine": "{subject}: {value} / limit {threshold} {unit}",
    "station.alertWindows": "Rule window {window}, fired after {forS}, at {fired}",
    "station.seconds": "{n} s",
    "station.minutes": "{n} min",
    "station.evidence": "Evidence",
  },
};

// Energy types and measures: names come from the reference data, mirrored here so that the
// page needs no extra request; an unknown code is shown as is.
const MEASURES = {
  electricity: ["电力", "Electricity"],
  natural_gas: ["天然气", "Natural gas"],
  raw_coal: ["原煤", "Raw coal"],
  washed_coal: ["洗精煤", "Washed coal"],
  coke: ["焦炭", "Coke"],
  fuel_oil: ["燃料油", "Fuel oil"],
  diesel: ["柴油", "Diesel"],
  gasoline: ["汽油", "Gasoline"],
  lpg: ["液化石油气", "LPG"],
  coke_oven_gas: ["焦炉煤气", "Coke-oven gas"],
  blast_furnace_gas: ["高炉煤气", "Blast-furnace gas"],
  heat: ["热力", "Heat"],
  steam: ["蒸汽", "Steam"],
  product: ["产品产量", "Product output"],
  power: ["有功功率", "Active power"],
  so2: ["二氧化硫", "SO2"],
  nox: ["氮氧化物", "NOx"],
  particulates: ["颗粒物", "Particulates"],
  o2: ["氧含量", "O2"],
  flue_gas_flow: ["烟气流量", "Flue-gas flow"],
  flue_gas_temperature: ["烟气温度", "Flue-gas temperature"],
  co2_ambient: ["二氧化碳", "CO2"],
  ch4_ambient: ["甲烷", "CH4"],
  co_ambient: ["一氧化碳", "CO"],
};

// Products of the intensity levels (energywatch/reference/data/intensity_levels.yaml).
const PRODUCTS = {
  sinter: ["烧结矿", "Sinter"],
  pellet: ["球团矿", "Pellets"],
  blast_furnace_iron: ["高炉炼铁", "Blast-furnace iron"],
  converter_steel: ["转炉炼钢", "Converter steel"],
  coke_top_charged: ["焦炭（顶装）", "Coke (top-charged)"],
  coke_stamp_charged: ["焦炭（捣固）", "Coke (stamp-charged)"],
  cement_clinker: ["水泥熟料", "Cement clinker"],
  electrolytic_aluminium: ["电解铝", "Electrolytic aluminium"],
};
const INDICATORS = {
  intensity: ["单位产品能耗", "Energy per unit of product"],
  pue: ["PUE（电能利用效率）", "PUE"],
  supply_coal_rate: ["供电煤耗", "Supply coal rate"],
};

// Rules by the names a reader knows them (services/alerting/default_rules/, the demo's rule);
// a rule of one's own shows its id.
const RULES = {
  "intensity.sinter": ["烧结工序能耗", "Sinter energy intensity"],
  "intensity.pellet": ["球团工序能耗", "Pellet energy intensity"],
  "intensity.blast_furnace_iron": ["高炉工序能耗", "Blast-furnace energy intensity"],
  "intensity.converter_steel": ["转炉工序能耗", "Converter energy intensity"],
  "intensity.coke_top_charged": ["焦炭（顶装）单位产品能耗", "Coke (top-charged) energy intensity"],
  "intensity.coke_stamp_charged": ["焦炭（捣固）单位产品能耗", "Coke (stamp-charged) energy intensity"],
  "intensity.cement_clinker": ["水泥熟料单位产品能耗", "Cement clinker energy intensity"],
  "intensity.electrolytic_aluminium": ["电解铝交流电耗", "Aluminium AC power per tonne"],
  "intensity.coal_power_supply_coal_rate": ["供电煤耗", "Supply coal rate"],
  "intensity.data_centre_pue": ["数据中心 PUE", "Data-centre PUE"],
  "budget.energy_pace": ["能耗预算进度", "Energy budget pace"],
  "budget.energy_projection": ["能耗预算全年预测", "Energy budget year-end projection"],
  "budget.carbon_pace": ["碳排放预算进度", "Carbon budget pace"],
  "budget.carbon_projection": ["碳排放预算全年预测", "Carbon budget year-end projection"],
  "pollutant.so2_ultra_low": ["二氧化硫超低排放", "SO2 ultra-low emission limit"],
  "pollutant.nox_ultra_low": ["氮氧化物超低排放", "NOx ultra-low emission limit"],
  "pollutant.particulates_ultra_low": ["颗粒物超低排放", "Particulates ultra-low emission limit"],
  "quality.silent": ["计量点无数据", "Meter silent"],
  "quality.counter_reset": ["累计量清零", "Counter reset"],
  "quality.stuck": ["数值不变", "Value stuck"],
  "quality.negative": ["负消费量", "Negative consumption"],
  "quality.daily_completeness": ["日数据完整率", "Daily data completeness"],
  "demo.so2_stack_trip": ["二氧化硫超标（脱硫跳闸）", "SO2 over the limit (desulphurisation trip)"],
};

let current = readStoredLanguage();

function readStoredLanguage() {
  try {
    const stored = globalThis.localStorage?.getItem(STORAGE_KEY);
    return LANGUAGES.includes(stored) ? stored : "zh-CN";
  } catch {
    return "zh-CN";
  }
}

export function language() {
  return current;
}

export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) throw new Error(`unknown language ${lang}`);
  current = lang;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, lang);
  } catch {
    // private mode: the choice lasts for this page only
  }
  if (globalThis.document) document.documentElement.lang = lang;
}

export function toggleLanguage() {
  setLanguage(current === "zh-CN" ? "en" : "zh-CN");
  return current;
}

export function t(key, params = {}, lang = current) {
  const text = MESSAGES[lang]?.[key] ?? MESSAGES["zh-CN"][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export function measureName(code, lang = current) {
  const names = MEASURES[code];
  if (!names) return code;
  return lang === "zh-CN" ? names[0] : names[1];
}

export function indicatorName(indicator, lang = current) {
  const pick = (names, code) => (names ? names[lang === "zh-CN" ? 0 : 1] : code);
  if (indicator.product) return pick(PRODUCTS[indicator.product], indicator.product);
  return pick(INDICATORS[indicator.indicator], indicator.indicator);
}

export function messageKeys(lang) {
  return Object.keys(MESSAGES[lang]);
}

export function ruleName(rule, lang = current) {
  const names = RULES[rule];
  if (!names) return rule;
  return lang === "zh-CN" ? names[0] : names[1];
}

export function ruleNames() {
  return Object.keys(RULES);
}

// ---- Operator page: energy balance, history, reports, budget basis; names of industries
// and flow roles (alert rules: RULES above) (kept in one block so that other pages' keys merge apart). ----
Object.assign(MESSAGES["zh-CN"], {
  "site.budget.since": "数据自 {date} 起（{days} 天），按其进度推算全年",
  "site.budget.tooShort": "数据仅 {hours} 小时，不足 {min} 小时，暂不预测",
  "site.budget.noData": "本年度暂无数据",
  "site.history": "历史能耗",
  "site.history.from": "起",
  "site.history.to": "止",
  "site.history.invalid": "结束日期不能早于开始日期，且跨度不超过 366 天",
  "site.history.none": "所选时段无数据",
  "site.flows": "能量平衡（能流图）",
  "site.flows.day": "日",
  "site.flows.month": "月",
  "site.flows.none": "所选时段无能源数据",
  "site.flows.total": "综合能耗 {tce} tce（购入 − 外供）",
  "site.flows.recovered": "余热余能回收（已含在购入能源中，不重复计）：{list}",
  "site.flows.negative": "外供能量超过购入能量：净综合能耗为负",
  "site.products": "产品单位能耗与等级",
  "site.products.none": "所选时段无产品产量",
  "site.download": "下载报表",
  "site.download.csv": "CSV",
  "site.download.xlsx": "Excel",
  "flow.site": "本单位",
  "flow.process": "工艺用能",
  "flow.unmetered": "未分计量及损耗",
  "flow.feedstock": "原料用能",
  "flow.in": "{name}（购入）",
  "flow.out": "{name}（外供）",
  "flow.conversion": "{name}（加工转换产出）",
  "grade.1": "一级（标杆）",
  "grade.2": "二级",
  "grade.3": "三级（限额）",
  "grade.over": "超限",
  "col.product": "产品",
  "col.level1": "一级",
  "col.level2": "二级",
  "col.level3": "三级",
  "col.grade": "等级",
  "col.day": "日期",
});
Object.assign(MESSAGES.en, {
  "site.budget.since": "Data since {date} ({days} d), the whole year estimated at their pace",
  "site.budget.tooShort": "Only {hours} h of data (at least {min} h needed): no projection yet",
  "site.budget.noData": "No data this year yet",
  "site.history": "Energy history",
  "site.history.from": "From",
  "site.history.to": "To",
  "site.history.invalid": "The end may not be before the start, nor more than 366 days after",
  "site.history.none": "No data in this range",
  "site.flows": "Energy balance (flows)",
  "site.flows.day": "Day",
  "site.flows.month": "Month",
  "site.flows.none": "No energy data in this period",
  "site.flows.total": "Comprehensive use {tce} tce (purchased − exported)",
  "site.flows.recovered": "Recovered energy (inside the purchased inputs, not counted again): {list}",
  "site.flows.negative": "Exports exceed purchases: the net consumption is negative",
  "site.products": "Product intensity and levels",
  "site.products.none": "No product output in this period",
  "site.download": "Download report",
  "site.download.csv": "CSV",
  "site.download.xlsx": "Excel",
  "flow.site": "Site",
  "flow.process": "Process use",
  "flow.unmetered": "Unmetered and losses",
  "flow.feedstock": "Feedstock use",
  "flow.in": "{name} (purchased)",
  "flow.out": "{name} (exported)",
  "flow.conversion": "{name} (conversion product)",
  "grade.1": "Level 1 (benchmark)",
  "grade.2": "Level 2",
  "grade.3": "Level 3 (limit)",
  "grade.over": "Over the limit",
  "col.product": "Product",
  "col.level1": "Level 1",
  "col.level2": "Level 2",
  "col.level3": "Level 3",
  "col.grade": "Grade",
  "col.day": "Day",
});

// Industries of the registry (sites.industry); an unknown code is shown as is.
const INDUSTRIES = {
  coke: ["焦化", "Coking"],
  steel: ["钢铁", "Iron and steel"],
  coal_power: ["燃煤发电", "Coal power"],
  cement: ["水泥", "Cement"],
  aluminium: ["电解铝", "Aluminium smelting"],
  data_centre: ["数据中心", "Data centre"],
  chemicals: ["化工", "Chemicals"],
};

const pickName = (names, code, lang) => (names ? names[lang === "zh-CN" ? 0 : 1] : code);

export function industryName(code, lang = current) {
  return code ? pickName(INDUSTRIES[code], code, lang) : "";
}

export function productName(code, lang = current) {
  return pickName(PRODUCTS[code], code, lang);
}

// ---- Operator page: process units' balances (GET /units/balance), in a block of their own
// so that other pages' keys merge apart. ----
Object.assign(MESSAGES["zh-CN"], {
  "site.units": "工序（分厂）能量平衡",
  "site.units.utility": "公辅",
  "site.units.total": "全厂综合能耗（一级计量）",
  "col.processUnit": "工序",
  "col.unitInputs": "输入 tce",
  "col.unitRecovered": "回收 tce",
  "col.unitOwn": "自身 tce",
  "col.unitAllocated": "分摊 tce",
  "col.unitBalance": "平衡 tce",
  "col.unitProducts": "产品单位能耗与等级",
});
Object.assign(MESSAGES.en, {
  "site.units": "Process units' balances",
  "site.units.utility": "utility",
  "site.units.total": "Site total (level-1 meters)",
  "col.processUnit": "Unit",
  "col.unitInputs": "Inputs tce",
  "col.unitRecovered": "Recovered tce",
  "col.unitOwn": "Own tce",
  "col.unitAllocated": "Allocated tce",
  "col.unitBalance": "Balance tce",
  "col.unitProducts": "Products: intensity and grade",
});
