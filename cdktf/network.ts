import { DataAwsAvailabilityZones } from "@cdktf/provider-aws/lib/data-aws-availability-zones/index.js";
import { DataAwsSubnet } from "@cdktf/provider-aws/lib/data-aws-subnet/index.js";
import { DataAwsSubnets } from "@cdktf/provider-aws/lib/data-aws-subnets/index.js";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway/index.js";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table/index.js";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association/index.js";
import { Subnet } from "@cdktf/provider-aws/lib/subnet/index.js";
import { Vpc } from "@cdktf/provider-aws/lib/vpc/index.js";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import type { NetworkPlan } from "../lib/infra/stack-plan.js";

/**
 * Where tasks run: the subnets (and VPC) given in `aws.network.<region>`, or a minimal VPC with public
 * subnets in two AZs and an internet gateway. No NAT gateway (≈ $32/month each plus traffic): tasks get
 * public IPs and reach ECR, S3 and CloudWatch over the internet gateway; nothing can reach them.
 */
export class Network extends Construct {
  readonly vpcId: string;
  readonly subnetIds: string[];

  constructor(scope: Construct, id: string, props: { plan: NetworkPlan; name: string }) {
    super(scope, id);
    const { plan } = props;
    if (plan.mode === "existing") {
      this.vpcId = plan.vpcId ?? new DataAwsSubnet(this, "first-subnet", { id: plan.subnets![0]! }).vpcId;
      this.subnetIds =
        plan.subnets ??
        new DataAwsSubnets(this, "subnets", { filter: [{ name: "vpc-id", values: [this.vpcId] }] }).ids;
      return;
    }
    const vpc = new Vpc(this, "vpc", {
      cidrBlock: plan.cidr,
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: { Name: props.name },
    });
    const azs = new DataAwsAvailabilityZones(this, "azs", { state: "available" });
    const igw = new InternetGateway(this, "igw", { vpcId: vpc.id, tags: { Name: props.name } });
    const routes = new RouteTable(this, "public", {
      vpcId: vpc.id,
      route: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
      tags: { Name: `${props.name}-public` },
    });
    this.vpcId = vpc.id;
    this.subnetIds = plan.subnetCidrs.map((cidr, i) => {
      const subnet = new Subnet(this, `public-${i}`, {
        vpcId: vpc.id,
        cidrBlock: cidr,
        availabilityZone: Fn.element(azs.names, i),
        mapPublicIpOnLaunch: true,
        tags: { Name: `${props.name}-public-${i}` },
      });
      new RouteTableAssociation(this, `public-${i}-routes`, { subnetId: subnet.id, routeTableId: routes.id });
      return subnet.id;
    });
  }
}
