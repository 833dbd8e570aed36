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
    "reg.inbox.empty": "没有未关闭的告警",
    "reg.drill": "查看",
    "reg.newAlerts": "{count} 条新告警",
    "reg.none": "辖区内暂无企业",
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
    "severity.info": "Info",
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
    "reg.inbox.empty": "No open alerts",
    "reg.drill": "Open",
    "reg.newAlerts": "{count} new alerts",
    "reg.none": "No enterprises in this region",
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
